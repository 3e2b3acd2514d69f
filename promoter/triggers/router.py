"""One router: each trigger module registers the kinds it handles; a host routes to them."""

from __future__ import annotations

from collections.abc import Callable

from promoter.triggers.context import TriggerContext
from promoter.triggers.events import TriggerKind
from promoter.triggers.result import BotOutcome, TriggerResult

Handler = Callable[[TriggerContext], TriggerResult]

_HANDLERS: dict[TriggerKind, Handler] = {}


def handles(*kinds: TriggerKind) -> Callable[[Handler], Handler]:
    """Register a handler for the given kinds of trigger."""

    def register(handler: Handler) -> Handler:
        for kind in kinds:
            _HANDLERS[kind] = handler
        return handler

    return register


def route(context: TriggerContext) -> TriggerResult:
    """Run the handler registered for the context's trigger."""
    from promoter.triggers import comment, push, requested  # noqa: F401 (registers)

    handler = _HANDLERS.get(context.trigger.kind)
    if handler is None:
        return TriggerResult(
            BotOutcome.IGNORED,
            f"event {context.trigger.event!r} is not one promoter handles",
        )
    return handler(context)
