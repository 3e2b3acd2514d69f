"""What a promotion decided, for the CI outputs and the bot: light on purpose (the bot's
path imports it before it knows whether it will promote anything)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """What ``promote`` did: the ``decision`` a CI job outputs."""

    PROMOTED = "promoted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_BETTER = "not-better"
    NO_CANDIDATE = "no-candidate"
    REFUSED = "refused"
    DRY_RUN = "dry-run"
    DECLINED = "declined"
    CONFLICT = "conflict"
    NOT_COMPARABLE = "not-comparable"


@dataclass(frozen=True, slots=True)
class PromoteResult:
    """The outcome, with what scripts and the CI outputs need."""

    decision: Outcome
    summary: str
    run_id: str | None = None
    branch: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    model_md5: Mapping[str, str] = field(default_factory=dict)
    record: str | None = None
    body: str | None = None
    conflicts: tuple[str, ...] = ()
    """Files the run and the base both changed (decision ``conflict``)."""
    track: str | None = None
    """The track promoted (``None``: the config is one track)."""
