"""What every trigger handler gets (handlers give back a ``PromoteResult``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from promoter.promotion.record import TriggerInfo

if TYPE_CHECKING:
    from promoter.api import Settings
    from promoter.forges.github import GitHubForge
    from promoter.hosts.github_actions.event import Event
    from promoter.hosts.github_actions.runner_io import ActionInputs


@dataclass(frozen=True, slots=True)
class TriggerContext:
    """One event, the action's inputs, the resolved settings and the forge."""

    event: Event
    inputs: ActionInputs
    settings: Settings
    forge: GitHubForge


def trigger_info(event: Event, actor: str | None = None) -> TriggerInfo:
    """The record's trigger section for an event."""
    return TriggerInfo(
        event=str(event.name),
        actor=actor or event.actor,
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        ci_run_url=event.run_url,
    )
