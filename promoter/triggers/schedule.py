"""``schedule`` (nightly): promote only a run that beats the champion; one PR per op."""

from __future__ import annotations

from promoter.promotion.promote import PromoteRequest, PromoteResult, promote
from promoter.triggers.context import TriggerContext, trigger_info
from promoter.triggers.router import handles


@handles("schedule")
def on_schedule(context: TriggerContext) -> PromoteResult:
    """Selection decides; an unchanged or not-better result changes nothing."""
    request = PromoteRequest(
        context.inputs.run,
        context.inputs.objective,
        context.inputs.dry_run,
        trigger_info(context.event),
    )
    return promote(context.settings, request, context.forge)
