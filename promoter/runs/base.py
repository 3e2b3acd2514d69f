"""The one interface every run store implements, whatever keeps the runs (a Guild home, a
Guild remote on S3, an MLflow tracking server).

The core never sees where or how runs are kept: it lists runs, asks for one run's files,
has those files made available locally before it reads them, and asks how to repeat a run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from promoter.core.models import Provenance, Run, RunFiles

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a listing is read."""


@dataclass(frozen=True, slots=True)
class SkippedRun:
    """A run that could not be read, and why."""

    run_id: str
    reason: str


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
