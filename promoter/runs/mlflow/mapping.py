"""MLflow's run fields mapped to promoter's ``Run``: pure functions of plain values, so the
mapping is tested without a server (SPEC "Where runs come from", ``type: mlflow``)."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from promoter.core.models import FlagValue, Run, RunStatus, ScalarSeries

STATUSES: Final = {
    "FINISHED": RunStatus.COMPLETED,
    "FAILED": RunStatus.ERROR,
    "KILLED": RunStatus.TERMINATED,
    "RUNNING": RunStatus.RUNNING,
    "SCHEDULED": RunStatus.PENDING,
}
MLFLOW_STATUS: Final = {ours: theirs for theirs, ours in STATUSES.items()}

RUN_NAME: Final = "mlflow.runName"
GIT_COMMIT: Final = "mlflow.source.git.commit"
PARENT: Final = "mlflow.parentRunId"
USER: Final = "mlflow.user"
SOURCE_NAME: Final = "mlflow.source.name"
ENTRY_POINT: Final = "mlflow.project.entryPoint"
SYSTEM_PREFIX: Final = "mlflow."

_TRUE_WORDS = frozenset({"", "true", "yes", "1"})
_INT = re.compile(r"[-+]?\d+\Z")
_FLOAT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?\Z")
# MLflow's SQL stores keep +-inf as the largest finite double (NaN has its own flag).
_INFINITE_AS = sys.float_info.max


@dataclass(frozen=True, slots=True)
class MlflowRunData:
    """The fields of one MLflow run that the mapping reads."""

    run_id: str
    experiment: str
    status: str
    start_ms: int | None
    end_ms: int | None
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]


def to_run(data: MlflowRunData, batch: bool = False) -> Run:
    """A promoter run: params -> flags, latest metric values -> scalars (``latest_only``),
    ``mlflow.runName`` -> label, user tags -> tags, the experiment -> op."""
    commit = data.tags.get(GIT_COMMIT) or None
    return Run(
        id=data.run_id,
        op=data.experiment,
        status=STATUSES.get(data.status, RunStatus.ERROR),
        started=_time(data.start_ms),
        stopped=_time(data.end_ms),
        label=data.tags.get(RUN_NAME, ""),
        tags=tag_strings(data.tags),
        flags={k: flag_value(v) for k, v in sorted(data.params.items())},
        scalars={
            name: ScalarSeries(name, "", (0,), (metric_value(value),), latest_only=True)
            for name, value in sorted(data.metrics.items())
        },
        vcs_commit=f"git:{commit}" if commit else None,
        source_commit=commit,
        batch=batch,
    )


def tag_strings(tags: Mapping[str, str]) -> tuple[str, ...]:
    """User tags (not MLflow's own ``mlflow.*``) as Guild-like tags: a tag whose value is
    empty or true reads as its name (``select.tags: [reviewed]``), any other as
    ``name=value`` (``select.tags: ["stage=candidate"]``, and the ``*_md5`` lineage tags)."""
    shown = []
    for key, value in sorted(tags.items()):
        if key.startswith(SYSTEM_PREFIX):
            continue
        shown.append(key if value.strip().lower() in _TRUE_WORDS else f"{key}={value}")
    return tuple(shown)


def flag_value(text: str) -> FlagValue:
    """A param (MLflow keeps every param as text, written by ``str()``) as the value it was:
    ints, floats, booleans and ``None`` come back typed; anything else stays text."""
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return {"True": True, "False": False, "None": None}.get(text, text)


def metric_value(value: float) -> float:
    """A metric value with MLflow's stand-in for infinity turned back into infinity."""
    if value >= _INFINITE_AS:
        return float("inf")
    if value <= -_INFINITE_AS:
        return float("-inf")
    return float(value)


def history_series(name: str, points: Iterable[tuple[int, int, float]]) -> ScalarSeries:
    """A whole metric history (step, timestamp ms, value) as a series ordered by step, then
    time: its last value is the one MLflow reports as the latest (highest step, then the
    newest)."""
    ordered = sorted(points, key=lambda p: (p[0], p[1]))
    return ScalarSeries(
        name, "", tuple(p[0] for p in ordered), tuple(metric_value(p[2]) for p in ordered)
    )


def search_filter(statuses: Iterable[RunStatus], started_after: datetime | None) -> str:
    """The part of the selection filters MLflow's ``search_runs`` applies exactly: one status
    (its SQL stores take no ``IN`` on status), and a start time."""
    clauses = []
    wanted = [MLFLOW_STATUS[s] for s in dict.fromkeys(statuses) if s in MLFLOW_STATUS]
    if len(wanted) == 1 and len(set(statuses)) == 1:
        clauses.append(f"attributes.status = '{wanted[0]}'")
    if started_after is not None:
        # MLflow keeps start times in whole milliseconds: a run started in the same
        # millisecond as the bound is kept, and the core checks the exact time again.
        clauses.append(f"attributes.start_time >= {int(started_after.timestamp() * 1000)}")
    return " and ".join(clauses)


def reproduce_command(
    run: Run, tags: Mapping[str, str], params: Mapping[str, str], project: str = "."
) -> str:
    """How to repeat an MLflow run: its commit, ``dvc pull``, then ``mlflow run`` with the
    entry point and params MLflow recorded (or, when the run was not started by
    ``mlflow run``, its source file with its params noted)."""
    lines = []
    if run.source_commit:
        lines.append(shlex.join(["git", "checkout", run.source_commit]))
    else:
        lines.append("# the run recorded no git commit (tag mlflow.source.git.commit)")
    lines.append("dvc pull")
    entry = tags.get(ENTRY_POINT)
    settings = [f"{k}={v}" for k, v in sorted(params.items())]
    shown = " ".join(shlex.quote(s) for s in settings)
    if entry:
        words = ["mlflow", "run", project, "--entry-point", entry, "--experiment-name", run.op]
        for setting in settings:
            words += ["-P", setting]
        lines.append(shlex.join(words))
    else:
        source = tags.get(SOURCE_NAME, "").rsplit("/", 1)[-1] or "<training script>"
        lines.append(
            f"MLFLOW_EXPERIMENT_NAME={shlex.quote(run.op)} python {shlex.quote(source)}"
            f"  # MLflow recorded no entry point; the params in experiment {run.op} were:"
            f" {shown or 'none'}"
        )
    return "\n".join(lines)


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None
