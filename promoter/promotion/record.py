"""The promotion record: everything the PR body shows, as plain data (``record.yaml``).

The record is built once by :func:`promoter.promotion.record_builder.build_record` and is
the only input of the PR body template, so the body and the committed record can never disagree.
"""

from __future__ import annotations

from typing import Any

import msgspec

RECORD_SCHEMA = 1


class _Data(msgspec.Struct, kw_only=True, frozen=True):
    pass


class RunInfo(_Data, frozen=True):
    """The promoted run and where it came from."""

    id: str
    short_id: str
    op: str
    status: str
    label: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    started: str | None = None
    stopped: str | None = None
    host: str | None = None
    user: str | None = None
    vcs_commit: str | None = None
    dirty_source: bool = False
    dirty_known: bool = True
    """False: the run store does not record uncommitted changes (MLflow)."""
    sourcecode_digest: str | None = None
    random_seed: int | None = None
    command: list[str] = msgspec.field(default_factory=list)
    python: str | None = None
    packages_count: int = 0
    packages_sha256: str | None = None
    lineage: dict[str, str] = msgspec.field(default_factory=dict)
    """Hashes the run recorded about its inputs and outputs (``*_md5`` tags)."""
    ci_job_url: str | None = None
    """The CI job that trained the run, when its recorded environment names one."""


class ObjectiveInfo(_Data, frozen=True):
    """The objective, the candidate's value and how it compares with the champion."""

    name: str
    direction: str
    value: float | None
    champion_value: float | None = None
    champion_value_source: str | None = None
    improvement: float | None = None
    required_improvement: float | None = None


class CriterionRow(_Data, frozen=True):
    """One acceptance criterion fixed in the config, checked on the candidate."""

    criterion: str
    passed: bool
    values: dict[str, float | None]
    problem: str | None = None
    champion_passed: bool | None = None


class CheckRow(_Data, frozen=True):
    """A check of the promotion (the run's ``dvc_model_md5`` against the model stored);
    ``passed`` is ``None`` when it could not be made."""

    name: str
    passed: bool | None
    detail: str


class ScalarRow(_Data, frozen=True):
    """A scalar of the candidate beside the champion's value (last value of each series)."""

    name: str
    candidate: float | None
    champion: float | None = None
    delta: float | None = None
    steps: int = 0
    better: str | None = None
    """``higher`` or ``lower``: which way is better for this scalar, from the objective, the
    criteria and the tie-breaks (``None``: nothing says)."""


class FlagRow(_Data, frozen=True):
    """A flag of the candidate run; ``changed`` when it differs from the champion's."""

    name: str
    value: Any
    champion: Any = None
    champion_known: bool = False
    changed: bool = False


class FileRow(_Data, frozen=True):
    """A file written into the project by the merge (DVC outputs are listed as DvcRow)."""

    path: str
    kind: str
    sha256: str
    size: int


class DvcRow(_Data, frozen=True):
    """A DVC-tracked output: its pointer and the remote it was verified in."""

    path: str
    md5: str
    size: int | None
    nfiles: int | None
    remote: str
    remote_url: str
    verified: bool


class DependencyRow(_Data, frozen=True):
    """A resolved dependency of the run (data, config) with Guild's hash of it."""

    path: str
    sha1: str | None


class PlotRow(_Data, frozen=True):
    """An image shown in the PR, committed on the branch at ``path``."""

    title: str
    path: str
    source: str
    scalar: str | None = None
    """The scalar a drawn curve shows (``None`` for the run's own images)."""


class ChampionInfo(_Data, frozen=True):
    """The champion this promotion replaces: the rollback target."""

    run_id: str
    op: str | None
    objective_value: float | None
    model_md5: dict[str, str] = msgspec.field(default_factory=dict)


class TriggerInfo(_Data, frozen=True):
    """What started the promotion."""

    event: str
    actor: str | None = None
    time: str | None = None
    ci_run_url: str | None = None


class Reproduce(_Data, frozen=True):
    """Commands that rebuild or fetch the model."""

    command: str
    """The command that repeats the run (``guild run ...`` for a Guild run)."""
    dvc_pull: str | None = None


class PrInfo(_Data, frozen=True):
    """The pull request the record belongs to."""

    branch: str
    base: str
    title: str
    source_commit: str | None = None
    command_prefix: str = "/promote"
    """How the PR's conversation gives promoter commands (``commands.prefix``)."""
    candidates: int = 10
    """How many other candidates the body lists (``pr.candidates``); the record has all."""


class SourceMergeInfo(_Data, frozen=True):
    """How the run's source reached the branch: merged three ways with the base, or copied."""

    mode: str
    """``three-way`` or ``copy``."""
    source_commit: str | None = None
    reason: str = ""
    """Why the snapshot was copied instead of merged."""
    changed: list[str] = msgspec.field(default_factory=list)
    """``"<A|M|D> <path>"`` for each file the merge changes on the base (repository paths)."""
    taken_from_run: list[str] = msgspec.field(default_factory=list)
    """Files the run and the base both changed, resolved with the run's version."""
    replaced: list[str] = msgspec.field(default_factory=list)
    """Copy: files whose copy replaces a different version on the base (possible reverts)."""
    snapshot: bool = True
    """False: the run store keeps no copy of the run's source (MLflow), so a copy brings the
    run's outputs only, not its code."""


class CandidateRow(_Data, frozen=True):
    """Another run that selection considered for this track, and why it was not promoted."""

    id: str
    op: str
    status: str
    started: str | None
    objective: float | None
    rank: int | None
    """Its place among the eligible runs (1 is the winner); ``None``: not eligible."""
    criteria_passed: int
    criteria_total: int
    reasons: list[str] = msgspec.field(default_factory=list)


class ModelCard(_Data, frozen=True):
    """The run's model card (``pr.model_card``), shown in its own section of the body."""

    path: str
    text: str = ""
    sha256: str | None = None
    size: int = 0
    problem: str | None = None
    """Why no text could be read (the run has no such file, it is too large, ...)."""


class PromotionRecord(_Data, frozen=True, kw_only=True):
    """Everything about one promotion, machine-readable."""

    schema: int = RECORD_SCHEMA
    decision: str
    summary: str
    checks: list[CheckRow] = msgspec.field(default_factory=list)
    """Checks of the promotion; a failed one is shown first."""
    run: RunInfo
    objective: ObjectiveInfo
    criteria: list[CriterionRow]
    scalars: list[ScalarRow]
    flags: list[FlagRow]
    files: list[FileRow]
    dvc: list[DvcRow]
    dependencies: list[DependencyRow]
    plots: list[PlotRow]
    champion: ChampionInfo | None
    reproduce: Reproduce
    trigger: TriggerInfo
    pr: PrInfo
    tools: dict[str, str]
    source_merge: SourceMergeInfo | None = None
    candidates: list[CandidateRow] = msgspec.field(default_factory=list)
    """Every other run of this track that selection considered, best first, with its reasons:
    the evidence that nothing was cherry-picked."""
    model_card: ModelCard | None = None


def record_to_builtins(record: PromotionRecord) -> dict[str, Any]:
    """The record as plain dicts and lists (for YAML and for templates)."""
    data: dict[str, Any] = msgspec.to_builtins(record)
    return data
