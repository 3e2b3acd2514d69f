"""What each reliability test tried, for ``docs/reliability.md``: the promise it proves, how
many cases and injected faults it ran, and the duplicates and lost data it measured.

A test takes the ``ledger`` fixture and counts; the numbers ride on the test's report
(``user_properties``) and ``scripts/reliability.py`` adds them up. They are measured before
the test asserts on them, so a failing test still reports what it found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import pytest

PROMISES = {
    "one-pr": "One PR per op, updated in place; two promotions at once end with one PR",
    "human-commits": "Never overwrite a person's commits, never push to a branch that carries "
    "a PR promoter did not open",
    "provenance": "A PR never points at a model absent from the DVC remote",
    "private": "Plots are committed and linked at the commit; nothing is uploaded elsewhere",
    "limits": "GitHub's body and summary limits: long tables fold into the record",
    "no-side-effects": "Nothing is pushed by select, render, verify or a dry run",
    "automation": "A run cannot change how the repository is run; every path, template and "
    "remote is checked before the first side effect",
    "declined": "A closed promotion PR means 'not this run'",
    "converge": "Converge whatever was interrupted: one PR with the configured labels and "
    "people, one branch, the model in the DVC remote, no worktree left, the checkout untouched",
    "commands": "Commands only from people with the permission (asked of the forge), only "
    "from PR conversations unless commands.on_issues",
    "retries": "Retries as README says (5xx, 429, secondary rate limits), bounded in time; "
    "a lost answer still ends with one PR and one reply; nothing hangs",
    "human": "A decision that needs a human is never silent: a warning, and the job fails",
    "tokens": "The branch is pushed with the token input, written nowhere",
    "workflows": "The example workflows are valid GitHub workflows that keep these rules",
}


@dataclass
class Entry:
    """One test's figures."""

    promise: str
    cases: int = 0
    faults: int = 0
    duplicates: int = 0
    lost: int = 0
    outcomes: list[dict[str, str]] = field(default_factory=list)
    """What the job said under each fault: fault, decision, exit code, annotation."""

    def case(self, faults: int = 1) -> None:
        """One case tried, with ``faults`` injected in it."""
        self.cases += 1
        self.faults += faults

    def measured(self, duplicates: int = 0, lost: int = 0) -> None:
        """Duplicates (PRs, branches, comments) and lost data (a PR or branch whose model is
        missing from the DVC remote) found after a case."""
        self.duplicates += duplicates
        self.lost += lost

    def outcome(self, fault: str, decision: str, code: int, annotation: str) -> None:
        """What a job output under ``fault``."""
        self.outcomes.append(
            {"fault": fault, "decision": decision, "exit": str(code), "annotation": annotation}
        )


class Ledger:
    """Hands out entries for one test."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def __call__(self, promise: str) -> Entry:
        assert promise in PROMISES, promise
        entry = Entry(promise)
        self._node.user_properties.append(("reliability", entry))
        return entry


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """``ledger("converge")`` gives an :class:`Entry` to count on."""
    yield Ledger(request.node)


def entries(properties: list[tuple[str, object]]) -> list[dict[str, object]]:
    """The entries in a test report's ``user_properties``, as plain data."""
    return [
        asdict(value)
        for key, value in properties
        if key == "reliability" and isinstance(value, Entry)
    ]
