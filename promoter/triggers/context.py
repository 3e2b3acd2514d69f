"""What every trigger handler gets, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from promoter.record import TriggerInfo

if TYPE_CHECKING:
    from promoter.action_io import ActionInputs
    from promoter.api import Settings
    from promoter.forges.github import GitHubForge
    from promoter.promote import PromoteResult
    from promoter.triggers.event import Event


@dataclass(frozen=True, slots=True)
class TriggerContext:
    """One event, the action's inputs, the resolved settings and the forge."""

    event: Event
    inputs: ActionInputs
    settings: Settings
    forge: GitHubForge


@dataclass(frozen=True, slots=True)
class Outcome:
    """The action's outputs and job summary for one event."""

    decision: str
    summary: str
    run_id: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    model_md5: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    @classmethod
    def of(cls, result: PromoteResult) -> Outcome:
        """The outcome of a promotion."""
        return cls(
            decision=result.decision.value,
            summary=result.summary,
            run_id=result.run_id,
            pr_number=result.pr_number,
            pr_url=result.pr_url,
            model_md5=dict(result.model_md5),
            body=result.body,
        )


def trigger_info(event: Event, actor: str | None = None) -> TriggerInfo:
    """The record's trigger section for an event."""
    return TriggerInfo(
        event=str(event.name),
        actor=actor or event.actor,
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        ci_run_url=event.run_url,
    )
