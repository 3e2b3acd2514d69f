"""The GitHub Action: environment in (parsed once), one event routed, outputs and summary out.

Everything the runner gives (``INPUT_*``, ``GITHUB_*``, the event file) is read here and
nowhere below; the token is masked before anything is logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from promoter.errors import PromoterError, UsageError
from promoter.render.escape import md_escape

if TYPE_CHECKING:
    from promoter.hosts.github_actions.runner_io import ActionInputs
    from promoter.promotion.promote import PromoteResult

log = logging.getLogger("promoter")


def run_action(env: Mapping[str, str], out: TextIO | None = None) -> int:
    """Handle the event the runner describes; returns the exit code (0 also for 'not better')."""
    from promoter.hosts.github_actions import runner_io as io

    out = out or sys.stdout
    inputs = io.parse_inputs(env)
    if inputs.token:
        out.write(io.mask(inputs.token) + "\n")
    out.write(io.group("promoter: reading the event") + "\n")
    # Run labels, flags and comments end up in log lines: none may act as a workflow command.
    resume = secrets.token_hex(16)
    out.write(io.stop_commands(resume) + "\n")
    out.flush()
    try:
        outcome = _handle(env, inputs)
    except PromoterError as e:
        _resume(out, resume)
        out.write(io.error(str(e), title="promoter") + "\n")
        _write_outputs(env, {"decision": "failed"})
        raise
    _resume(out, resume)
    outputs = {
        "decision": outcome.decision,
        "run-id": outcome.run_id or "",
        "pr-number": str(outcome.pr_number or ""),
        "pr-url": outcome.pr_url or "",
        "model-md5": json.dumps(dict(outcome.model_md5), sort_keys=True),
    }
    _write_outputs(env, outputs)
    summary = outcome.body or f"**promoter: {outcome.decision}**: {md_escape(outcome.summary)}\n"
    if env.get("GITHUB_STEP_SUMMARY"):
        io.append_file(env["GITHUB_STEP_SUMMARY"], io.summary_text(summary))
    out.write(f"promoter: {outcome.decision}: {io.escape_data(outcome.summary)}\n")
    return 0


def _resume(out: TextIO, token: str) -> None:
    from promoter.hosts.github_actions import runner_io as io

    sys.stderr.flush()
    out.write(io.resume_commands(token) + "\n")
    out.write(io.endgroup() + "\n")


def _handle(env: Mapping[str, str], inputs: ActionInputs) -> PromoteResult:
    from promoter.api import resolve_settings
    from promoter.forges.github import GitHubForge, GitHubSettings
    from promoter.hosts.github_actions.event import github_event, load_event_payload
    from promoter.triggers.context import TriggerContext
    from promoter.triggers.router import route

    event = github_event(env, load_event_payload(env.get("GITHUB_EVENT_PATH")))
    log.info("event %s on %s (%s)", event.name, event.repository, event.ref or "no ref")
    if inputs.forge != "github":
        raise UsageError(f"forge: {inputs.forge!r} is not available in the GitHub action")
    if not inputs.token:
        raise UsageError("token: no token (the input defaults to github.token)")
    project = workspace(env)
    settings = resolve_settings(
        project,
        project / inputs.config if inputs.config else None,
        Path(inputs.guild_home) if inputs.guild_home else None,
        env,
    )
    forge = GitHubForge(
        GitHubSettings(
            repository=event.repository,
            token=inputs.token,
            api_url=event.api_url,
            server_url=event.server_url,
        ).paced(env)
    )
    return route(TriggerContext(event, inputs, settings, forge))


def _write_outputs(env: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    from promoter.hosts.github_actions import runner_io as io

    path = env.get("GITHUB_OUTPUT")
    if path:
        io.append_file(path, io.format_outputs(outputs))
    else:
        log.info("outputs (no GITHUB_OUTPUT): %s", json.dumps(dict(outputs)))


def workspace(env: Mapping[str, str]) -> Path:
    """The checked-out repository: ``GITHUB_WORKSPACE`` (``/github/workspace`` in a docker
    action), else the current directory."""
    return Path(env.get("GITHUB_WORKSPACE") or ".").resolve()
