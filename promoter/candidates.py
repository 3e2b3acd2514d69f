"""Reading the candidate runs from the run store and ranking them against the champion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from promoter.core.champion import load_champion
from promoter.core.models import Champion, Run
from promoter.core.policy import build_policy, check_scalar_names
from promoter.core.runids import resolve_run_id
from promoter.core.selection import Selection, select
from promoter.runs.base import Progress, RunListing, RunStore
from promoter.settings import Settings


def select_best(
    settings: Settings,
    store: RunStore,
    run: str | None = None,
    objective: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    champion: Callable[[], Champion | None] | None = None,
) -> tuple[Selection, RunListing]:
    """Read the runs and the champion (default: the working tree's), then rank and decide."""
    policy = build_policy(settings.config, now or datetime.now(UTC), objective)
    listing = store.list_runs(progress)
    check_scalar_names(policy, listing.runs, "--objective" if objective else settings.config_origin)
    only = find_run_id(store, listing, run) if run else None
    current = (
        champion()
        if champion is not None
        else load_champion(settings.project, settings.champion_file)
    )
    return select(listing.runs, policy, current, only=only), listing


def find_run_id(store: RunStore, listing: RunListing, text: str) -> str:
    """The full id of the run ``text`` names (an id or a unique prefix)."""
    return resolve_run_id((r.id for r in listing.runs), text, store.location)


def find_run(store: RunStore, text: str) -> Run:
    """The run ``text`` names (an id or a unique prefix)."""
    listing = store.list_runs()
    full = find_run_id(store, listing, text)
    return next(r for r in listing.runs if r.id == full)
