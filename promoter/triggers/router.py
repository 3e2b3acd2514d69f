"""One router: each trigger module registers the events it handles; the entrypoint dispatches."""

from __future__ import annotations

from collections.abc import Callable

from promoter.promotion.promote import Outcome, PromoteResult
from promoter.triggers.context import TriggerContext

Handler = Callable[[TriggerContext], PromoteResult]

_HANDLERS: dict[str, Handler] = {}


def handles(*events: str) -> Callable[[Handler], Handler]:
    """Register a handler for the named events."""

    def register(handler: Handler) -> Handler:
        for name in events:
            _HANDLERS[name] = handler
        return handler

    return register


def route(context: TriggerContext) -> PromoteResult:
    """Run the handler registered for the context's event."""
    from promoter.triggers import comment, dispatch, schedule  # noqa: F401 (registers)

    handler = _HANDLERS.get(context.event.name)
    if handler is None:
        known = ", ".join(sorted(_HANDLERS))
        return PromoteResult(
            Outcome.IGNORED, f"event {context.event.raw_name!r} is not handled (only {known})"
        )
    return handler(context)
