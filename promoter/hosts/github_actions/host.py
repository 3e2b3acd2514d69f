"""GitHub Actions as a CI host: ``INPUT_*``, ``GITHUB_*`` and the event file in (read once),
outputs, annotations and the step summary out.

Everything the runner gives is read here and nowhere below; the token is masked before
anything is logged, and workflow commands are stopped while run data is logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final, TextIO

from promoter.errors import PromoterError, UsageError
from promoter.forges.base import CommentRef
from promoter.forges.registry import ForgeTarget, pacing
from promoter.hosts.base import HostContext, needs_a_human, registered
from promoter.hosts.github_actions import runner_io as io
from promoter.hosts.github_actions.event import Event, EventName
from promoter.promotion.outcome import PromoteResult
from promoter.render.escape import md_escape
from promoter.triggers.events import CommentTrigger, PushTrigger, Trigger, TriggerKind
from promoter.triggers.result import TriggerResult

log = logging.getLogger("promoter")

KINDS: Final = {
    EventName.WORKFLOW_DISPATCH: TriggerKind.DISPATCH,
    EventName.SCHEDULE: TriggerKind.SCHEDULE,
    EventName.ISSUE_COMMENT: TriggerKind.COMMENT,
    EventName.PUSH: TriggerKind.PUSH,
}
LONG_OBJECTIVE: Final = "objective: longer than 200 characters"


class GitHubActions:
    """The docker action's view of one workflow run."""

    name = "github-actions"

    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out
        self._resume = secrets.token_hex(16)

    def begin(self) -> None:
        """Mask the token, open a log group and stop workflow commands: run labels, flags
        and comments end up in log lines, and none may act as a workflow command."""
        self.inputs = io.parse_inputs(self.env)
        if self.inputs.token:
            self.out.write(io.mask(self.inputs.token) + "\n")
        self.out.write(io.group("promoter: reading the event") + "\n")
        self.out.write(io.stop_commands(self._resume) + "\n")
        self.out.flush()

    def read(self) -> HostContext:
        """The event, the settings from the inputs, and the repository's GitHub."""
        from promoter.hosts.github_actions.event import github_event, load_event_payload
        from promoter.settings import resolve_settings

        env, inputs = self.env, self.inputs
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
            {"guild_home": inputs.guild_home or ""},
            env,
        )
        target = ForgeTarget(
            "github",
            repository=event.repository,
            token=inputs.token,
            api_url=event.api_url,
            server_url=event.server_url,
            pacing=pacing(env),
        )
        return HostContext(to_trigger(event, inputs), settings, target)

    def succeed(self, result: TriggerResult) -> None:
        """Outputs to ``$GITHUB_OUTPUT``, the PR body (or the decision) to the summary."""
        self._end_group()
        promotion = result.promotion
        outputs = {
            "decision": result.decision,
            "run-id": (promotion.run_id if promotion else None) or "",
            "pr-number": str((promotion.pr_number if promotion else None) or ""),
            "pr-url": (promotion.pr_url if promotion else None) or "",
            "model-md5": json.dumps(dict(promotion.model_md5) if promotion else {}, sort_keys=True),
            "tracks": json.dumps([_track_output(p) for p in result.promotions]),
            "tag": "",
            "history-plot": "",
        }
        pushed = registered(result, workspace(self.env))
        if pushed is not None:
            tracks = [{k.replace("_", "-"): v for k, v in t.items()} for t in pushed.tracks]
            outputs |= {
                "run-id": pushed.run_id,
                "tag": pushed.tag,
                "tracks": json.dumps(tracks),
                "history-plot": pushed.plot,
            }
        self._write_outputs(outputs)
        body = promotion.body if promotion else result.report
        summary = body or f"**promoter: {result.decision}**: {md_escape(result.summary)}\n"
        if self.env.get("GITHUB_STEP_SUMMARY"):
            io.append_file(self.env["GITHUB_STEP_SUMMARY"], io.summary_text(summary))
        if needs_a_human(result):
            self.out.write(io.warning(result.summary, title=f"promoter: {result.decision}") + "\n")
        self.out.write(f"promoter: {result.decision}: {io.escape_data(result.summary)}\n")

    def fail(self, error: PromoterError) -> None:
        """An ``::error`` annotation and ``decision=failed``."""
        self._end_group()
        self.out.write(io.error(str(error), title="promoter") + "\n")
        self._write_outputs({"decision": "failed"})

    def _end_group(self) -> None:
        sys.stderr.flush()
        self.out.write(io.resume_commands(self._resume) + "\n")
        self.out.write(io.endgroup() + "\n")

    def _write_outputs(self, outputs: Mapping[str, str]) -> None:
        path = self.env.get("GITHUB_OUTPUT")
        if path:
            io.append_file(path, io.format_outputs(outputs))
        else:
            log.info("outputs (no GITHUB_OUTPUT): %s", json.dumps(dict(outputs)))


def _track_output(result: PromoteResult) -> dict[str, object]:
    return {
        "track": result.track,
        "decision": result.decision.value,
        "run-id": result.run_id,
        "pr-number": result.pr_number,
        "pr-url": result.pr_url,
    }


def to_trigger(event: Event, inputs: io.ActionInputs) -> Trigger:
    """The event in neutral terms; a dispatch's own inputs (``run``, ``dry_run``,
    ``objective``) override the action's."""
    run, dry_run, objective = inputs.run, inputs.dry_run, inputs.objective
    if event.name is EventName.WORKFLOW_DISPATCH:
        given = event.inputs
        if given.get("run"):
            run = io.valid_run_id(given["run"], "run")
        if given.get("dry_run"):
            dry_run = io.parse_bool(given["dry_run"], "dry_run")
        objective = given.get("objective") or objective
    if objective is not None and len(objective) > 200:
        raise UsageError(LONG_OBJECTIVE)
    comment = event.comment
    return Trigger(
        kind=KINDS.get(event.name, TriggerKind.OTHER),
        event=event.raw_name,
        actor=event.actor,
        run_url=event.run_url,
        run=run,
        objective=objective,
        dry_run=dry_run,
        comment=CommentTrigger(
            ref=CommentRef(comment.number, comment.id, comment.is_pull_request),
            action=comment.action,
            body=comment.body,
            author=comment.author,
            by_bot=comment.author_type == "Bot" or comment.author.endswith("[bot]"),
            on_pull_request=comment.is_pull_request,
            url=comment.html_url,
        )
        if comment is not None
        else None,
        push=PushTrigger(ref=event.push.ref, before=event.push.before, after=event.push.after)
        if event.push is not None
        else None,
    )


def workspace(env: Mapping[str, str]) -> Path:
    """The checked-out repository: ``GITHUB_WORKSPACE`` (``/github/workspace`` in a docker
    action), else the current directory."""
    return Path(env.get("GITHUB_WORKSPACE") or ".").resolve()
