"""What a trigger handler gives back: a decision for the CI outputs, and the promotion's
result when there was one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from promoter.promotion.promote import PromoteResult


class BotOutcome(StrEnum):
    """Decisions of the bot that are not promotions."""

    HELP = "help"
    COMPARED = "compared"
    IGNORED = "ignored"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """The ``decision`` output, one line saying why, and the promotion if one ran."""

    decision: str
    summary: str
    promotion: PromoteResult | None = None

    @classmethod
    def of(cls, result: PromoteResult) -> TriggerResult:
        """A promotion's result as the trigger's."""
        return cls(result.decision.value, result.summary, result)
