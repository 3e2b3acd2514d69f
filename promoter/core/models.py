"""Typed records shared by run stores, selection and reports: data only, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

FlagValue: TypeAlias = "str | int | float | bool | list[FlagValue] | dict[str, FlagValue] | None"


class RunStatus(StrEnum):
    """A run's status, with Guild's meaning of each."""

    COMPLETED = "completed"
    ERROR = "error"
    TERMINATED = "terminated"
    RUNNING = "running"
    PENDING = "pending"
    STAGED = "staged"


AGGREGATES = ("last", "first", "min", "max", "avg", "count")


# Run and ScalarSeries have no __slots__: pickle restores a plain __dict__ in C, while slotted
# frozen dataclasses go through a Python __setstate__, 3x slower for the run cache.
@dataclass(frozen=True)
class ScalarSeries:
    """Every logged value of one scalar tag, ordered as written."""

    tag: str
    prefix: str
    steps: tuple[int, ...]
    values: tuple[float, ...]
    latest_only: bool = False
    """Only the last value was read (a tracking server's search answers the latest value of
    each metric; its history is one more request per run and metric): every aggregate but
    ``last`` is unknown until the store loads the history (``RunStore`` ``with_series``)."""

    def aggregate(self, how: str) -> float:
        """Summarise the series the way Guild does: last/first by step, min/max/avg/count.

        NaN anywhere in the series makes min, max and avg NaN, so a diverged run is never
        ranked on a value that hides the divergence.
        """
        if self.latest_only and how != "last":
            # A bug, never a user's mistake: the core loads the histories it aggregates.
            raise ValueError(f"{how} of {self.tag!r}: only its last value was read")
        if how == "count":
            return float(len(self.values))
        if not self.values:
            return math.nan
        if how == "last":
            return self.values[_last_index(self.steps)]
        if how == "first":
            return self.values[_first_index(self.steps)]
        if any(math.isnan(v) for v in self.values):
            return math.nan
        if how == "min":
            return min(self.values)
        if how == "max":
            return max(self.values)
        if how == "avg":
            return math.fsum(self.values) / len(self.values)
        raise ValueError(f"unknown aggregate {how!r}")

    def summary(self) -> dict[str, float]:
        """All aggregates at once (only ``last`` when only that was read), for listings and
        records."""
        if self.latest_only:
            return {"last": self.aggregate("last")}
        return {how: self.aggregate(how) for how in AGGREGATES}

    @property
    def display_name(self) -> str:
        """The name ``guild compare`` shows: the tag, or ``prefix#tag`` outside ``.guild`` and
        the run root (guild/run_util.py ``run_scalar_key``)."""
        return self.tag if self.prefix in ("", ".guild") else f"{self.prefix}#{self.tag}"

    @property
    def system(self) -> bool:
        """A ``sys/*`` tag from Guild's summary plugins (cpu, memory, gpu...): ``guild compare``
        hides these unless asked (guild/commands/runs_impl.py ``filter_default_scalar``)."""
        return self.tag.startswith("sys/")


def _last_index(steps: Sequence[int]) -> int:
    best = 0
    for i, step in enumerate(steps):
        if step >= steps[best]:
            best = i
    return best


def _first_index(steps: Sequence[int]) -> int:
    best = 0
    for i, step in enumerate(steps):
        if step < steps[best]:
            best = i
    return best


@dataclass(frozen=True)
class Run:
    """One training run as a run store reads it.

    ``vcs_commit`` is the source revision as the store reports it (Guild: ``git:<sha>``, with
    ``*`` when dirty); ``source_commit`` is the bare commit sha and ``dirty_source`` says the
    run started from uncommitted changes.
    """

    id: str
    op: str
    status: RunStatus
    started: datetime | None = None
    stopped: datetime | None = None
    label: str = ""
    tags: tuple[str, ...] = ()
    flags: Mapping[str, FlagValue] = field(default_factory=dict)
    scalars: Mapping[str, ScalarSeries] = field(default_factory=dict)
    vcs_commit: str | None = None
    source_commit: str | None = None
    dirty_source: bool = False
    batch: bool = False

    @property
    def short_id(self) -> str:
        """The first eight characters of the id, as Guild shows them."""
        return self.id[:8]

    def scalar(self, name: str) -> ScalarSeries | None:
        """The series for a scalar name: ``tag`` or Guild's ``prefix#tag``."""
        found = self.scalars.get(name)
        if found is not None or "#" not in name:
            return found
        prefix, tag = name.split("#", 1)
        for series in self.scalars.values():
            if series.tag == tag and series.prefix.startswith(prefix):
                return series
        return None


@dataclass(frozen=True, slots=True)
class RunFile:
    """A file of a run: its path in the run dir and, where known, its place in the project."""

    run_path: str
    kind: str
    project_path: str | None = None
    sha1: str | None = None
    size: int | None = None
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class RunFiles:
    """A run's files split the way Guild's manifest splits them."""

    source: tuple[RunFile, ...]
    dependencies: tuple[RunFile, ...]
    generated: tuple[RunFile, ...]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where and how a run was made: read on demand, for the run being promoted."""

    host: str | None = None
    user: str | None = None
    sourcecode_digest: str | None = None
    random_seed: int | None = None
    command: tuple[str, ...] = ()
    python: str | None = None
    packages: tuple[str, ...] = ()
    records_uncommitted: bool = True
    """The store says whether the run started from uncommitted changes (Guild does; MLflow
    records the commit only, so a clean tree cannot be claimed)."""
    ci_job_url: str | None = None
    """The CI job the run ran in, when its recorded environment says (GitHub, GitLab, ...)."""


@dataclass(frozen=True, slots=True)
class Champion:
    """The run currently promoted, as read from ``.promoter/champion.yaml``."""

    run_id: str
    op: str | None
    objective_name: str | None
    objective_value: float | None
    scalars: Mapping[str, float] = field(default_factory=dict)
    flags: Mapping[str, FlagValue] = field(default_factory=dict)
    model_md5: Mapping[str, str] = field(default_factory=dict)
