"""What a promotion does, decided from facts alone: a pure function, tested on a table.

:mod:`promoter.promotion.promote` gathers the facts (the selection against the champion on
the fetched base, the open promotion PR, the promotion branch on the remote and any commits
on it that promoter did not make), asks :func:`plan` what to do, then does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from promoter.core.selection import Decision
from promoter.forges.base import PullRequest
from promoter.forges.markers import marked_run

FOREIGN_COMMITS = (
    "branch {branch} holds commits promoter did not make ({shown}); not overwriting them. "
    "Merge or close that PR, or delete the branch, then re-run."
)
CLOSED_STALE = "Closing: run {run} is no longer the one to promote. {summary}"
SUPERSEDED = "Run {old} is superseded by run {new}: {summary}"
ALREADY_OPEN = "PR #{number} already promotes run {run}"


class Action(StrEnum):
    """What the promotion does."""

    REPORT = "report"
    """Nothing to promote: say why (``not-better``, ``no-candidate``)."""
    CLOSE_STALE = "close-stale"
    """Nothing to promote, and the open promotion PR's run no longer wins: close it."""
    UNCHANGED = "unchanged"
    """The open PR already promotes the winner."""
    REFUSE = "refuse"
    """The branch holds commits promoter did not make: never overwrite them."""
    DRY_RUN = "dry-run"
    """Build everything in the scratch worktree; store, push and open nothing."""
    CREATE = "create"
    """Build, store, push and open a new PR."""
    UPDATE = "update"
    """Build, store, push and update the open PR in place."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known before anything is written."""

    decision: Decision
    run_id: str | None
    """The winner: the run to promote (``None`` when there is no candidate)."""
    champion_run_id: str | None
    dry_run: bool
    branch: str | None = None
    open_pr: PullRequest | None = None
    """The open PR from ``branch`` that carries promoter's marker."""
    branch_exists: bool = False
    """Whether ``branch`` exists on the remote."""
    foreign_commits: Sequence[str] = ()
    """Commits on the remote branch (not on the base) without promoter's trailer, described."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The action, the PR it concerns, and the text any comment or summary needs."""

    action: Action
    pr: PullRequest | None = None
    replaces_run: str | None = None
    """For ``UPDATE``: the run the open PR promoted until now, when it is another one."""
    message: str = ""


def plan(facts: Facts) -> Plan:
    """Decide what the promotion does; see :class:`Action`."""
    if facts.decision is not Decision.PROMOTE or facts.run_id is None:
        return _nothing_to_promote(facts)
    pr, run = facts.open_pr, facts.run_id
    promoted = marked_run(pr.body) if pr is not None else None
    if pr is not None and facts.branch_exists and promoted == run:
        return Plan(
            Action.UNCHANGED, pr, message=ALREADY_OPEN.format(number=pr.number, run=run[:8])
        )
    if facts.branch_exists and facts.foreign_commits:
        shown = ", ".join(facts.foreign_commits[:5])
        return Plan(
            Action.REFUSE, pr, message=FOREIGN_COMMITS.format(branch=facts.branch, shown=shown)
        )
    if facts.dry_run:
        return Plan(Action.DRY_RUN)
    if pr is None:
        return Plan(Action.CREATE)
    return Plan(Action.UPDATE, pr, replaces_run=promoted if promoted != run else None)


def _nothing_to_promote(facts: Facts) -> Plan:
    pr = facts.open_pr
    promoted = marked_run(pr.body) if pr is not None else None
    stale = (
        facts.decision is Decision.NOT_BETTER
        and not facts.dry_run
        and promoted is not None
        and promoted != facts.champion_run_id
    )
    return Plan(Action.CLOSE_STALE, pr) if stale else Plan(Action.REPORT)
