"""The narrow interface every run store implements (Guild now; DVC experiments or MLflow later)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from promoter.core.models import Provenance, Run, RunFiles

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a listing is read."""


@dataclass(frozen=True, slots=True)
class SkippedRun:
    """A run directory that could not be read, and why."""

    run_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RunListing:
    """The runs a store could read, and the ones it skipped with a reason."""

    runs: tuple[Run, ...]
    skipped: tuple[SkippedRun, ...] = ()


class RunStore(Protocol):
    """Where runs come from."""

    def list_runs(self, progress: Progress | None = None) -> RunListing:
        """Every run that is not deleted, newest first."""
        ...

    def run_files(self, run: Run) -> RunFiles:
        """The run's source, dependency and generated files."""
        ...

    def provenance(self, run: Run) -> Provenance:
        """Where and how the run was made, read on demand."""
        ...
