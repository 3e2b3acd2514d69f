"""What every trigger handler gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from promoter.forges.base import Forge
from promoter.promotion.record import TriggerInfo
from promoter.runs.base import RunStore
from promoter.settings import Settings
from promoter.triggers.events import Trigger


@dataclass(frozen=True, slots=True)
class TriggerContext:
    """One trigger, the resolved settings, the forge, and the run store."""

    trigger: Trigger
    settings: Settings
    forge: Forge
    store: RunStore


def trigger_info(trigger: Trigger, actor: str | None = None) -> TriggerInfo:
    """The record's trigger section."""
    return TriggerInfo(
        event=trigger.event,
        actor=actor or trigger.actor,
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        ci_run_url=trigger.run_url,
    )
