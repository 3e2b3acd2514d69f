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
    "automation": "A run cannot change how the repository is run; every path is checked "
    "before the first side effect",
    "converge": "Converge whatever was interrupted: one PR with the configured labels and "
    "people, one branch, the model in the DVC remote, no worktree left, the checkout untouched",
    "together": "Two promotions at once end with one PR",
    "foreign": "Never push to a branch that carries a PR promoter did not open",
    "retries": "Retries match README (5xx, 429, secondary rate limits), bounded in time; "
    "a lost answer still ends with one PR; nothing hangs",
    "commands": "Commands only from people with the permission, asked of the forge; "
    "from PR conversations only unless commands.on_issues",
    "human": "A decision that needs a human is never silent: a warning, and the job fails",
    "declined": "A closed promotion PR means 'not this run'",
    "workflows": "Example workflows are valid GitHub workflows",
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
