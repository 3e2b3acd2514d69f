"""The hidden marker that makes a pull request a promotion, and finding it on any forge.

The marker is the only thing that tells promoter's PRs from others on the same branch (never
the title, which people edit). It is written last in the body and read back as the last one.
"""

from __future__ import annotations

import re

from promoter.core.runids import FULL_RUN_ID
from promoter.forges.base import Forge, PullRequest, PullState

MARKER = re.compile(rf"<!-- promoter:op=(?P<op>[^ <>]+) run=(?P<run>{FULL_RUN_ID}) -->")


def marker(op: str, run_id: str) -> str:
    """The hidden line that identifies a promotion PR and the run it promotes."""
    safe_op = re.sub(r"[^A-Za-z0-9_.:/-]", "-", op) or "op"
    return f"<!-- promoter:op={safe_op} run={run_id} -->"


def marked_run(body: str) -> str | None:
    """The run id in a body's marker, or ``None`` when the body is not a promotion's."""
    found = MARKER.findall(body)
    return found[-1][1] if found else None


def find_promotion(forge: Forge, branch: str) -> PullRequest | None:
    """The open promotion PR from ``branch`` (the newest carrying our marker), if any."""
    return next((p for p in forge.pulls(branch, PullState.OPEN) if marked_run(p.body)), None)
