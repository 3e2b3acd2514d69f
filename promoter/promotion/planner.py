"""What a promotion does, decided from facts alone: a pure function, tested on a table.

:mod:`promoter.promotion.promote` gathers the facts (the selection against the champion on
the fetched base, the promotion PRs from the branch, the branch on the remote and any commits
on it that promoter did not make), asks :func:`plan` what to do, then does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from promoter.core.selection import Decision
from promoter.forges.base import PullRequest
from promoter.forges.markers import marked_run

FOREIGN_COMMITS: Final = (
    "branch {branch} holds commits promoter did not make ({shown}); not overwriting them. {unblock}"
)
UNBLOCK_ON_PR: Final = (
    "To rebuild the branch on {base} anyway (those commits are dropped), comment "
    "`{prefix} recreate` on {pr}; or delete the branch."
)
UNBLOCK_NO_PR: Final = (
    "Delete the branch, or comment `{prefix} recreate` on a pull request to rebuild it on "
    "{base} (those commits are dropped)."
)
FOREIGN_PR: Final = (
    "branch {branch} carries {pr}, which promoter did not open: promoter never pushes "
    "to it. Close that PR or move it to another branch, or set pr.branch to another name."
)
DECLINED: Final = (
    "run {run} was declined in {pr} (closed without merging): it is not proposed "
    "again until a better run exists; `{prefix} {run}` asks for it by id."
)
CLOSED_STALE: Final = "Closing: run {run} is no longer the one to promote. {summary}"
SUPERSEDED: Final = "Run {old} is superseded by run {new}: {summary}"
ALREADY_OPEN: Final = "{pr} already promotes run {run}"
REBUILT: Final = (
    "{pr} no longer merges into {base} (the base moved under it): its branch is rebuilt on "
    "{base} with run {run}"
)


class Action(StrEnum):
    """What the promotion does."""

    REPORT = "report"
    """Nothing to promote: say why (``not-better``, ``no-candidate``)."""
    CLOSE_STALE = "close-stale"
    """Nothing to promote, and the open promotion PR's run no longer wins: close it."""
    DECLINED = "declined"
    """The winner's promotion PR was closed without merging: not this run."""
    UNCHANGED = "unchanged"
    """The open PR already promotes the winner: only make it say what the config says."""
    REFUSE = "refuse"
    """Pushing would overwrite someone's work: a PR or commits promoter did not make."""
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
    base: str = "main"
    open_pr: PullRequest | None = None
    """The open PR from ``branch`` that carries promoter's marker."""
    foreign_prs: Sequence[PullRequest] = ()
    """Open PRs from ``branch`` without the marker: opened by people."""
    declined: PullRequest | None = None
    """A promotion PR of the winner that was closed without merging."""
    branch_exists: bool = False
    """Whether ``branch`` exists on the remote."""
    foreign_commits: Sequence[str] = ()
    """Commits on the remote branch (not on the base) that promoter did not make, described;
    merges of the base into the branch ("Update branch") are not among them."""
    explicit_run: bool = False
    """The run was asked for by id: a declined run may be proposed again."""
    recreate: bool = False
    """Asked to rebuild the branch over commits promoter did not make."""
    conflicts_with_base: bool = False
    """The remote branch no longer merges into the base: the base moved under it (another
    track's promotion merged, a fix to a file the run changed)."""
    prefix: str = "/promote"
    pull_reference: str = "pull request #{number}"
    """How the forge names a pull request (:attr:`Forge.pull_reference`)."""

    def pr(self, pull: PullRequest) -> str:
        """``pull`` as people on this forge name it."""
        return self.pull_reference.format(number=pull.number)


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
    if facts.foreign_prs:
        first = facts.foreign_prs[0]
        text = FOREIGN_PR.format(branch=facts.branch, pr=facts.pr(first))
        return Plan(Action.REFUSE, message=text)
    if facts.declined is not None and not facts.explicit_run:
        text = DECLINED.format(run=run[:8], pr=facts.pr(facts.declined), prefix=facts.prefix)
        return Plan(Action.DECLINED, facts.declined, message=text)
    promoted = marked_run(pr.body) if pr is not None else None
    if pr is not None and facts.branch_exists and promoted == run and not facts.recreate:
        if not facts.conflicts_with_base or facts.foreign_commits:
            text = ALREADY_OPEN.format(pr=facts.pr(pr), run=run[:8])
            return Plan(Action.UNCHANGED, pr, message=text)
        # Left as it is, the PR could never be merged: build the same run on the base again.
        text = REBUILT.format(pr=facts.pr(pr), base=facts.base, run=run[:8])
        return Plan(Action.UPDATE, pr, message=text) if not facts.dry_run else Plan(Action.DRY_RUN)
    if facts.branch_exists and facts.foreign_commits and not facts.recreate:
        return Plan(Action.REFUSE, pr, message=_foreign_commits(facts))
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


def _foreign_commits(facts: Facts) -> str:
    pr = facts.open_pr
    if pr is not None:
        unblock = UNBLOCK_ON_PR.format(base=facts.base, prefix=facts.prefix, pr=facts.pr(pr))
    else:
        unblock = UNBLOCK_NO_PR.format(base=facts.base, prefix=facts.prefix)
    shown = ", ".join(facts.foreign_commits[:5])
    return FOREIGN_COMMITS.format(branch=facts.branch, shown=shown, unblock=unblock)
