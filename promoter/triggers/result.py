"""What a trigger handler gives back: a decision for the CI outputs, and the promotions'
results when there were some (one per track)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from promoter.promotion.outcome import Outcome, PromoteResult

if TYPE_CHECKING:
    from promoter.registry.register import Registration


class BotOutcome(StrEnum):
    """Decisions of the bot that are not promotions."""

    HELP = "help"
    COMPARED = "compared"
    IGNORED = "ignored"
    REFUSED = "refused"


# When several tracks are promoted at once, the one decision a job outputs is the one a
# person most needs to see: what stopped, then what changed, then what did not.
SIGNIFICANCE: Final = (
    Outcome.CONFLICT,
    Outcome.REFUSED,
    Outcome.PROMOTED,
    Outcome.UPDATED,
    Outcome.DRY_RUN,
    Outcome.NOT_COMPARABLE,
    Outcome.DECLINED,
    Outcome.UNCHANGED,
    Outcome.NOT_BETTER,
    Outcome.NO_CANDIDATE,
)


def most_significant(results: Sequence[PromoteResult]) -> PromoteResult:
    """The result a person most needs to see (:data:`SIGNIFICANCE`)."""
    return min(results, key=lambda r: SIGNIFICANCE.index(r.decision))


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """The ``decision`` output, one line saying why, and the promotions if any ran."""

    decision: str
    summary: str
    promotions: tuple[PromoteResult, ...] = ()
    registrations: tuple[Registration, ...] = ()
    """After a push to ``pr.base``: each track's registration."""
    report: str | None = None
    """Markdown for the job summary when there is no PR body (the champions' history)."""
    plot: bytes | None = None
    """A PNG of the objective over the champions' history, for the host to keep."""

    @property
    def promotion(self) -> PromoteResult | None:
        """The promotion the outputs describe: the only one, or the most significant."""
        return most_significant(self.promotions) if self.promotions else None

    @classmethod
    def of(cls, results: Sequence[PromoteResult]) -> TriggerResult:
        """Promotions' results (one per track) as the trigger's."""
        first = most_significant(results)
        summary = first.summary
        if len(results) > 1:
            summary = "; ".join(f"{r.track}: {r.decision.value}" for r in results)
        return cls(first.decision.value, summary, tuple(results))
