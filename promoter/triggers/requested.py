"""The nightly ``schedule`` and a ``dispatch`` by hand: promote what the request says (the
best run, or the run given), only if it beats the champion; one PR per op, updated in place.

Both kinds arrive with the request already resolved by the host (inputs of the dispatch over
the job's own), so one handler serves them.
"""

from __future__ import annotations

from promoter.triggers.context import TriggerContext, trigger_info
from promoter.triggers.events import TriggerKind
from promoter.triggers.result import TriggerResult
from promoter.triggers.router import handles


@handles(TriggerKind.SCHEDULE, TriggerKind.DISPATCH)
def on_request(context: TriggerContext) -> TriggerResult:
    """Selection decides; an unchanged or not-better result changes nothing."""
    # Imported here: the router loads every handler, and the bot's comment path needs none
    # of the promotion machinery.
    from promoter.promotion.promote import PromoteRequest, promote_tracks

    trigger = context.trigger
    request = PromoteRequest(trigger.run, trigger.objective, trigger.dry_run, trigger_info(trigger))
    results = promote_tracks(context.settings, context.store, context.forge, request)
    return TriggerResult.of(results)
