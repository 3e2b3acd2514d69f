"""The promotion planner on a table of facts: no git, no DVC, no forge."""

from __future__ import annotations

import pytest

from promoter.core.selection import Decision
from promoter.forges.base import PullRequest, PullState
from promoter.forges.markers import marker
from promoter.promotion.planner import (
    ALREADY_OPEN,
    DECLINED,
    FOREIGN_COMMITS,
    FOREIGN_PR,
    UNBLOCK_NO_PR,
    UNBLOCK_ON_PR,
    Action,
    Facts,
    plan,
)

WINNER, OLD, CHAMPION = "a" * 32, "b" * 32, "c" * 32
BRANCH = "promote/train"


def pr(run: str | None, number: int = 7, **kw: object) -> PullRequest:
    body = f"body\n{marker('train', run)}\n" if run else "opened by a person"
    return PullRequest(number, f"https://x/pull/{number}", BRANCH, "t", body, **kw)  # type: ignore[arg-type]


HUMAN = pr(None, 3)
CLOSED = pr(WINNER, 5, state=PullState.CLOSED)
FOREIGN = ("1234abcd (Ann: fix)",)


def facts(decision: Decision = Decision.PROMOTE, **kw: object) -> Facts:
    base: dict[str, object] = {
        "decision": decision,
        "run_id": WINNER,
        "champion_run_id": CHAMPION,
        "dry_run": False,
        "branch": BRANCH,
    }
    return Facts(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "action", "pr_number", "replaces"),
    [
        # nothing to promote
        (facts(Decision.NO_CANDIDATE, run_id=None, branch=None), Action.REPORT, None, None),
        (facts(Decision.NOT_BETTER), Action.REPORT, None, None),
        (facts(Decision.NOT_BETTER, open_pr=pr(OLD)), Action.CLOSE_STALE, 7, None),
        (facts(Decision.NOT_BETTER, open_pr=pr(OLD), dry_run=True), Action.REPORT, None, None),
        (facts(Decision.NOT_BETTER, open_pr=pr(CHAMPION)), Action.REPORT, None, None),
        (facts(Decision.NOT_BETTER, open_pr=pr(None)), Action.REPORT, None, None),
        # a champion that cannot be compared closes nothing: nobody knows which run is better
        (facts(Decision.NOT_COMPARABLE, open_pr=pr(OLD)), Action.REPORT, None, None),
        # a first promotion
        (facts(), Action.CREATE, None, None),
        (facts(dry_run=True), Action.DRY_RUN, None, None),
        (facts(branch_exists=True), Action.CREATE, None, None),
        # the open PR already promotes the winner
        (facts(open_pr=pr(WINNER), branch_exists=True), Action.UNCHANGED, 7, None),
        # ... but its branch is gone: build it again
        (facts(open_pr=pr(WINNER)), Action.UPDATE, 7, None),
        # ... or the base moved under it and it no longer merges: build it on the base again
        (
            facts(open_pr=pr(WINNER), branch_exists=True, conflicts_with_base=True),
            Action.UPDATE,
            7,
            None,
        ),
        (
            facts(open_pr=pr(WINNER), branch_exists=True, conflicts_with_base=True, dry_run=True),
            Action.DRY_RUN,
            None,
            None,
        ),
        # ... unless people's commits are on it: those are never dropped
        (
            facts(
                open_pr=pr(WINNER),
                branch_exists=True,
                conflicts_with_base=True,
                foreign_commits=FOREIGN,
            ),
            Action.UNCHANGED,
            7,
            None,
        ),
        # a better run replaces the open PR's
        (facts(open_pr=pr(OLD), branch_exists=True), Action.UPDATE, 7, OLD),
        (facts(open_pr=pr(OLD), branch_exists=True, dry_run=True), Action.DRY_RUN, None, None),
        # commits promoter did not make are never overwritten, dry run or not
        (
            facts(open_pr=pr(OLD), branch_exists=True, foreign_commits=("1234abcd (Ann: fix)",)),
            Action.REFUSE,
            7,
            None,
        ),
        (
            facts(branch_exists=True, foreign_commits=("1234abcd (Ann: fix)",), dry_run=True),
            Action.REFUSE,
            None,
            None,
        ),
        # ... unless someone with write access asked to recreate the branch
        (
            facts(open_pr=pr(OLD), branch_exists=True, foreign_commits=FOREIGN, recreate=True),
            Action.UPDATE,
            7,
            OLD,
        ),
        (
            facts(open_pr=pr(WINNER), branch_exists=True, foreign_commits=FOREIGN, recreate=True),
            Action.UPDATE,
            7,
            None,
        ),
        # a PR that promoter did not open is never pushed to, even when asked to recreate
        (facts(foreign_prs=(HUMAN,)), Action.REFUSE, None, None),
        (facts(foreign_prs=(HUMAN,), recreate=True, open_pr=pr(OLD)), Action.REFUSE, None, None),
        # a closed promotion PR means "not this run", unless the run is asked for by id
        (facts(declined=CLOSED), Action.DECLINED, 5, None),
        (facts(declined=CLOSED, branch_exists=True, open_pr=pr(OLD)), Action.DECLINED, 5, None),
        (facts(declined=CLOSED, explicit_run=True), Action.CREATE, None, None),
    ],
)
def test_plan(given: Facts, action: Action, pr_number: int | None, replaces: str | None) -> None:
    decided = plan(given)
    assert decided.action is action
    assert (decided.pr.number if decided.pr else None) == pr_number
    assert decided.replaces_run == replaces


def test_messages_say_what_and_which() -> None:
    unchanged = plan(facts(open_pr=pr(WINNER), branch_exists=True))
    assert unchanged.message == ALREADY_OPEN.format(pr="pull request #7", run=WINNER[:8])
    commits = tuple(f"{i:08x} (Ann: fix {i})" for i in range(7))
    refused = plan(facts(branch_exists=True, foreign_commits=commits))
    unblock = UNBLOCK_NO_PR.format(base="main", prefix="/promote")
    shown = ", ".join(commits[:5])
    assert refused.message == FOREIGN_COMMITS.format(branch=BRANCH, shown=shown, unblock=unblock)
    assert "00000006" not in refused.message
    on_pr = plan(
        facts(branch_exists=True, foreign_commits=commits, open_pr=pr(OLD), prefix="/ship")
    )
    assert "comment `/ship recreate` on pull request #7" in on_pr.message
    on_7 = UNBLOCK_ON_PR.format(base="main", prefix="/ship", pr="pull request #7")
    assert on_pr.message.endswith(on_7)
    human = plan(facts(foreign_prs=(HUMAN, pr(None, 4))))
    assert human.message == FOREIGN_PR.format(branch=BRANCH, pr="pull request #3")
    declined = plan(facts(declined=CLOSED))
    on_5 = DECLINED.format(run=WINNER[:8], pr="pull request #5", prefix="/promote")
    assert declined.message == on_5
    on_gitlab = plan(facts(declined=CLOSED, pull_reference="merge request !{number}"))
    assert "was declined in merge request !5" in on_gitlab.message
