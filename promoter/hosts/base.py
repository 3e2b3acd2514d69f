"""The one interface every CI host implements (GitHub Actions, GitLab CI), and the driver
that runs ``promoter event`` through it.

A host reads its environment once into a :class:`HostContext` (the trigger in neutral
terms, the settings, which forge to talk to), and writes the result the way its CI reads
it (outputs, log annotations, a summary). Triggers never see a host.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from promoter.errors import PromoterError
from promoter.forges.registry import ForgeTarget
from promoter.promotion.outcome import Outcome
from promoter.settings import Settings
from promoter.triggers.events import Trigger
from promoter.triggers.result import BotOutcome, TriggerResult

log = logging.getLogger("promoter")

NEEDS_A_HUMAN: Final = frozenset({Outcome.REFUSED, Outcome.CONFLICT})
"""Promotion decisions that stop until someone acts: never silent, and the job fails."""
FAILED_FOR_A_HUMAN: Final = (
    "promoter: {decision}: this needs someone to act (see above); the job fails "
    "(set pr.fail_on_refusal: false to end it successfully)"
)


HISTORY_PLOT: Final = "promoter-history.png"
"""Where a push job leaves the champions' history plot, in the checkout (for the CI's
artifacts)."""


@dataclass(frozen=True, slots=True)
class Registered:
    """A push job's registrations as every host's outputs carry them."""

    run_id: str
    """Of the registration the one-value outputs describe: the first that has a tag."""
    tag: str
    tracks: list[dict[str, object]]
    """One per track, snake_case keys (a host respells them as its outputs do)."""
    plot: str
    """``HISTORY_PLOT`` when the plot was written into the checkout, else empty."""


def registered(result: TriggerResult, checkout: Path) -> Registered | None:
    """The registrations of a push job, its plot written into ``checkout``; ``None`` for
    any other job."""
    if not result.registrations:
        return None
    chosen = next((r for r in result.registrations if r.tag), result.registrations[0])
    tracks: list[dict[str, object]] = [
        {
            "track": r.name,
            "decision": r.decision.value,
            "run_id": r.run_id,
            "tag": r.tag,
            "version": r.version,
            "created": r.created,
        }
        for r in result.registrations
    ]
    plot = ""
    if result.plot is not None:
        (checkout / HISTORY_PLOT).write_bytes(result.plot)
        plot = HISTORY_PLOT
    return Registered(chosen.run_id or "", chosen.tag or "", tracks, plot)


def needs_a_human(result: TriggerResult) -> bool:
    """Whether the promotion stopped on something only a person can resolve."""
    promotion = result.promotion
    return promotion is not None and promotion.decision in NEEDS_A_HUMAN


@dataclass(frozen=True, slots=True)
class HostContext:
    """What a host read from its environment."""

    trigger: Trigger
    settings: Settings
    forge: ForgeTarget


class CiHost(Protocol):
    """A CI system promoter runs in."""

    name: str

    def begin(self) -> None:
        """Prepare the job's log before anything untrusted is read (mask secrets, group)."""
        ...

    def read(self) -> HostContext:
        """The trigger, settings and forge, from the environment and the event."""
        ...

    def succeed(self, result: TriggerResult) -> None:
        """Write the outputs and summary of a finished job."""
        ...

    def fail(self, error: PromoterError) -> None:
        """Report a failed job the way the CI shows errors."""
        ...


def run_event(host: CiHost) -> int:
    """Read the trigger through ``host``, route it, and report: 0 also for 'not better', 1
    when the promotion needs a human (``refused``, ``conflict``) and the config says so."""
    from promoter.forges.registry import make_forge
    from promoter.runs.registry import open_store
    from promoter.triggers.context import TriggerContext
    from promoter.triggers.early import ignored_early
    from promoter.triggers.router import route

    host.begin()
    try:
        context = host.read()
        log.info("%s: event %s", host.name, context.trigger.event)
        ignored = ignored_early(context.trigger, context.settings)
        if ignored is not None:
            result = TriggerResult(BotOutcome.IGNORED, ignored)
        else:
            forge = make_forge(context.forge)
            store = open_store(context.settings)
            result = route(TriggerContext(context.trigger, context.settings, forge, store))
    except PromoterError as e:
        host.fail(e)
        raise
    host.succeed(result)
    if needs_a_human(result) and context.settings.config.pr.fail_on_refusal:
        log.error(FAILED_FOR_A_HUMAN.format(decision=result.decision))
        return 1
    return 0
