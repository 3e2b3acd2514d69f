"""GitLab CI as a CI host: ``CI_*`` variables, ``PROMOTER_*`` variables and the webhook payload
in (read once), a dotenv report and the job log out.

The token (``PROMOTER_TOKEN``, else ``GITLAB_TOKEN``) goes to the forge and nowhere else:
GitLab masks it only if the variable is masked, so promoter never prints it. Text from runs
and notes reaches the log with its terminal controls shown, never obeyed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, TextIO

from promoter.errors import PromoterError
from promoter.forges.registry import gitlab_target
from promoter.hosts.base import HostContext, needs_a_human, registered
from promoter.hosts.gitlab_ci import job_io
from promoter.hosts.gitlab_ci.event import read_trigger, variables
from promoter.promotion.outcome import PromoteResult
from promoter.triggers.result import TriggerResult

log = logging.getLogger("promoter")

DEFAULT_DOTENV: Final = "promoter.env"
SECTION: Final = "promoter"
BODY_SECTION: Final = "promoter_body"
WARNING, RESET = "\x1b[33;1m", "\x1b[0m"


class GitLabCi:
    """One GitLab CI job running ``promoter event``."""

    name = "gitlab-ci"

    def __init__(
        self, env: Mapping[str, str], out: TextIO, clock: Callable[[], float] = time.time
    ) -> None:
        self.env = env
        self.out = out
        self._clock = clock
        self._open = False

    def begin(self) -> None:
        """Open the job log's section for promoter's own lines."""
        self._write(job_io.section_start(SECTION, "promoter", self._now()) + "\n")
        self._open = True

    def read(self) -> HostContext:
        """The trigger, the settings from ``PROMOTER_*`` variables, and the project's GitLab."""
        from promoter.settings import resolve_settings

        given = variables(self.env)
        trigger = read_trigger(self.env, given)
        project = project_dir(self.env)
        settings = resolve_settings(
            project,
            project / given.config if given.config else None,
            {"guild_home": given.guild_home or ""},
            self.env,
        )
        return HostContext(trigger, settings, gitlab_target(self.env))

    def succeed(self, result: TriggerResult) -> None:
        """The dotenv report, the MR body in a collapsed section, one line of result."""
        self._end_section()
        promotion = result.promotion
        values = {
            "PROMOTER_DECISION": result.decision,
            "PROMOTER_RUN_ID": (promotion.run_id if promotion else None) or "",
            "PROMOTER_MR_IID": str((promotion.pr_number if promotion else None) or ""),
            "PROMOTER_MR_URL": (promotion.pr_url if promotion else None) or "",
            "PROMOTER_MODEL_MD5": _json(dict(promotion.model_md5) if promotion else {}),
            "PROMOTER_TRACKS": _json([_track(p) for p in result.promotions]),
            "PROMOTER_TAG": "",
            "PROMOTER_HISTORY_PLOT": "",
        }
        pushed = registered(result, project_dir(self.env))
        if pushed is not None:
            values |= {
                "PROMOTER_RUN_ID": pushed.run_id,
                "PROMOTER_TAG": pushed.tag,
                "PROMOTER_TRACKS": _json(pushed.tracks),
                "PROMOTER_HISTORY_PLOT": pushed.plot,
            }
        self._write_dotenv(values)
        if promotion is not None and promotion.body:
            header = "merge request description"
            self._write(job_io.section(BODY_SECTION, header, promotion.body, self._now()))
        elif result.report:
            header = "registrations and history"
            self._write(job_io.section(BODY_SECTION, header, result.report, self._now()))
        line = f"promoter: {result.decision}: {job_io.one_line(result.summary)}"
        # A refusal or conflict waits for someone: yellow, so that it is seen (the job fails).
        self._write(f"{WARNING}{line}{RESET}\n" if needs_a_human(result) else line + "\n")

    def fail(self, error: PromoterError) -> None:
        """``PROMOTER_DECISION=failed``; the error itself is the one line the CLI prints."""
        self._end_section()
        self._write_dotenv({"PROMOTER_DECISION": "failed"})

    def _end_section(self) -> None:
        if self._open:
            sys.stderr.flush()
            self._write(job_io.section_end(SECTION, self._now()) + "\n")
            self._open = False

    def _write_dotenv(self, values: Mapping[str, str]) -> None:
        path = dotenv_path(self.env)
        job_io.write_dotenv(path, values)
        log.debug("outputs in %s", path)

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _now(self) -> int:
        return int(self._clock())


def _json(value: object) -> str:
    """Compact JSON on one line, as a dotenv value must be."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _track(result: PromoteResult) -> dict[str, object]:
    return {
        "track": result.track,
        "decision": result.decision.value,
        "run_id": result.run_id,
        "mr_iid": result.pr_number,
        "mr_url": result.pr_url,
    }


def project_dir(env: Mapping[str, str]) -> Path:
    """The job's checkout: ``CI_PROJECT_DIR``, else the current directory."""
    return Path(env.get("CI_PROJECT_DIR") or ".").resolve()


def dotenv_path(env: Mapping[str, str]) -> Path:
    """``PROMOTER_DOTENV`` (relative to the checkout), default ``promoter.env`` in it."""
    return project_dir(env) / (env.get("PROMOTER_DOTENV", "").strip() or DEFAULT_DOTENV)
