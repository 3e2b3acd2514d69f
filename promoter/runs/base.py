"""The one interface every run store implements, whatever keeps the runs (a Guild home, a
Guild remote on S3, an MLflow tracking server).

The core never sees where or how runs are kept: it lists runs, asks for one run's files,
has those files made available locally before it reads them, and asks how to repeat a run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from promoter.core.models import Provenance, Run, RunFiles, RunStatus

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a listing is read."""


@dataclass(frozen=True, slots=True)
class SkippedRun:
    """A run that could not be read, and why."""

    run_id: str
    reason: str


def newest_first(run: Run) -> tuple[float, str]:
    """The order every store lists runs in: newest start first, then by id."""
    return (-(run.started.timestamp() if run.started else 0.0), run.id)


@dataclass(frozen=True, slots=True)
class RunListing:
    """The runs a store could read, and the ones it skipped with a reason."""

    runs: tuple[Run, ...]
    skipped: tuple[SkippedRun, ...] = ()


class RunStore(Protocol):
    """Where runs come from."""

    @property
    def location(self) -> str:
        """Where the runs are, for messages (``GUILD_HOME /x (from $GUILD_HOME)``)."""
        ...

    def list_runs(self, progress: Progress | None = None) -> RunListing:
        """Every run that is not deleted, newest first; unreadable ones listed as skipped.

        Raises UsageError when the store itself cannot be read (missing, empty, denied).
        """
        ...

    def run_files(self, run: Run) -> RunFiles:
        """The run's source, dependency and generated files (listed, not read)."""
        ...

    def materialize(self, run: Run, paths: Collection[str]) -> Path:
        """A local directory in which the run's files at ``paths`` (run-relative, as
        ``run_files`` lists them) can be read; a remote store downloads only those."""
        ...

    def provenance(self, run: Run) -> Provenance:
        """Where and how the run was made, read on demand."""
        ...

    def reproduce(self, run: Run) -> str:
        """The shell command that repeats the run with its flags."""
        ...


@dataclass(frozen=True, slots=True)
class RunQuery:
    """What a listing is for, told to stores that pay per run or per metric (a tracking
    server). A store may leave out runs that cannot pass ``statuses`` and ``started_after``
    where it can tell exactly (the core checks every filter again on what it gets)."""

    statuses: tuple[RunStatus, ...] = ()
    """Only runs with one of these (empty: any)."""
    started_after: datetime | None = None
    keep: frozenset[str] = frozenset()
    """Run ids listed whatever the filters (the champion's run)."""


@runtime_checkable
class QueryingStore(RunStore, Protocol):
    """A run store that narrows its listing by a query and reads metric histories on demand.

    Its runs carry the last value of each scalar only (``ScalarSeries.latest_only``): the
    core asks for the histories it aggregates or plots, for the runs that need them.
    """

    def query_runs(self, query: RunQuery, progress: Progress | None = None) -> RunListing:
        """The runs ``list_runs`` gives, less those the query rules out exactly."""
        ...

    def with_series(self, runs: Sequence[Run], names: Collection[str]) -> tuple[Run, ...]:
        """``runs`` with the whole history of the scalars ``names`` that each one has."""
        ...


def list_for(store: RunStore, query: RunQuery, progress: Progress | None = None) -> RunListing:
    """The store's runs, narrowed by ``query`` when the store can do that."""
    if isinstance(store, QueryingStore):
        return store.query_runs(query, progress)
    return store.list_runs(progress)


def with_series(store: RunStore, runs: Sequence[Run], names: Collection[str]) -> tuple[Run, ...]:
    """``runs`` with the whole history of the scalars ``names`` (stores that read whole series
    anyway, such as a Guild home, give them back unchanged)."""
    if isinstance(store, QueryingStore) and names and runs:
        return store.with_series(runs, names)
    return tuple(runs)
