"""Reading the candidate runs from the run store and ranking them against the champion."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime

from promoter.core.champion import load_champion
from promoter.core.models import Champion, Run
from promoter.core.policy import (
    aggregated_names,
    build_policy,
    check_scalar_names,
    plotted_names,
    policy_scalars,
)
from promoter.core.runids import resolve_run_id
from promoter.core.selection import Selection, Verdict, passes_filters, select
from promoter.runs.base import Progress, RunListing, RunQuery, RunStore, list_for, with_series
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
    """Read the runs and the champion (default: the working tree's), then rank and decide.

    A store that reads last values only (a tracking server) is told the filters, so it can
    leave out runs that cannot be candidates, and asked for the histories the policy
    aggregates, for the candidates and the champion's run only.
    """
    policy = build_policy(settings.config, now or datetime.now(UTC), objective)
    current = (
        champion()
        if champion is not None
        else load_champion(settings.project, settings.champion_file)
    )
    keep = frozenset({current.run_id}) if current else frozenset()
    filters = policy.filters
    # Asked for one run by id: list everything, so a run the filters exclude says why.
    query = RunQuery(keep=keep) if run else RunQuery(filters.statuses, filters.started_after, keep)
    listing = list_for(store, query, progress)
    if listing.runs:  # a server may have filtered every run out: no candidate, not a bad name
        check_scalar_names(
            policy, listing.runs, "--objective" if objective else settings.config_origin
        )
    only = find_run_id(store, listing, run) if run else None
    needed = aggregated_names(policy_scalars(policy))
    if needed:

        def wanted(r: Run) -> bool:
            if r.id in keep:
                return True
            return r.id == only if only else passes_filters(r, filters)

        listing = _with_series(store, listing, wanted, needed)
    return select(listing.runs, policy, current, only=only), listing


def list_with_series(
    store: RunStore, names: Collection[str], progress: Progress | None = None
) -> RunListing:
    """Every run, with the histories of ``names`` loaded (``promoter runs`` columns)."""
    listing = store.list_runs(progress)
    return _with_series(store, listing, lambda _: True, names) if names else listing


def winner_series(
    store: RunStore, selection: Selection, verdict: Verdict, champion_run: Run | None
) -> tuple[Selection, Verdict, Run | None]:
    """The verdict's run with every scalar's history (its record lists them all, its plots
    draw them) and the champion's run with the plotted ones; other verdicts unchanged."""
    run = verdict.run
    (full,) = with_series(store, [run], list(run.scalars))
    if champion_run is not None:
        (champion_run,) = with_series(store, [champion_run], plotted_names(selection.policy))
    if full is run:
        return selection, verdict, champion_run
    loaded = replace(verdict, run=full)
    verdicts = tuple(loaded if v is verdict else v for v in selection.verdicts)
    winner = loaded if selection.winner is verdict else selection.winner
    return replace(selection, winner=winner, verdicts=verdicts), loaded, champion_run


def _with_series(
    store: RunStore, listing: RunListing, wanted: Callable[[Run], bool], names: Collection[str]
) -> RunListing:
    runs = [r for r in listing.runs if wanted(r)]
    loaded = {r.id: r for r in with_series(store, runs, names)}
    return replace(listing, runs=tuple(loaded.get(r.id, r) for r in listing.runs))


def find_run_id(store: RunStore, listing: RunListing, text: str) -> str:
    """The full id of the run ``text`` names (an id or a unique prefix)."""
    return resolve_run_id((r.id for r in listing.runs), text, store.location)


def find_run(store: RunStore, text: str) -> Run:
    """The run ``text`` names (an id or a unique prefix)."""
    listing = store.list_runs()
    full = find_run_id(store, listing, text)
    return next(r for r in listing.runs if r.id == full)


def settings_for_run(settings: Settings, store: RunStore, run_id: str) -> Settings:
    """The settings of the track the run ``run_id`` belongs to; with one track, the run store
    is not listed for it (selection resolves the id next anyway)."""
    tracks = settings.tracks()
    if len(tracks) == 1:
        return tracks[0]
    return settings.for_operation(find_run(store, run_id).op)
