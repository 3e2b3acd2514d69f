"""MLflow's fields mapped to runs, without a server: statuses, params, tags, infinity,
histories, the server-side filter and the reproduce command."""

from __future__ import annotations

import math
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest

from promoter.core.models import RunStatus, ScalarSeries
from promoter.runs.mlflow.connection import is_remote, tracking_uri
from promoter.runs.mlflow.mapping import (
    MlflowRunData,
    flag_value,
    history_series,
    reproduce_command,
    search_filter,
    tag_strings,
    to_run,
)


def _data(**changes) -> MlflowRunData:
    base = {
        "run_id": "f" * 32,
        "experiment": "exp",
        "status": "FINISHED",
        "start_ms": 1_700_000_000_000,
        "end_ms": None,
        "params": {"lr": "0.001", "layers": "[1, 2]", "amp": "True"},
        "metrics": {"acc": 0.9, "lat": 1.7976931348623157e308},
        "tags": {"mlflow.runName": "nice", "mlflow.source.git.commit": "c" * 40},
    }
    return MlflowRunData(**{**base, **changes})


@pytest.mark.parametrize(
    ("mlflow", "ours"),
    [
        ("FINISHED", RunStatus.COMPLETED),
        ("FAILED", RunStatus.ERROR),
        ("KILLED", RunStatus.TERMINATED),
        ("RUNNING", RunStatus.RUNNING),
        ("SCHEDULED", RunStatus.PENDING),
    ],
)
def test_status_mapping(mlflow: str, ours: RunStatus) -> None:
    assert to_run(_data(status=mlflow)).status is ours


def test_a_run_mapped() -> None:
    run = to_run(_data())
    assert (run.op, run.label, run.source_commit, run.vcs_commit) == (
        "exp",
        "nice",
        "c" * 40,
        "git:" + "c" * 40,
    )
    assert run.started == datetime.fromtimestamp(1_700_000_000, UTC) and run.stopped is None
    assert run.flags == {"amp": True, "layers": "[1, 2]", "lr": 0.001}
    assert run.scalars["lat"].values == (math.inf,) and run.scalars["lat"].latest_only
    assert to_run(_data(tags={})).source_commit is None


def test_latest_only_series_refuse_other_aggregates() -> None:
    series = to_run(_data()).scalars["acc"]
    assert series.aggregate("last") == 0.9 and series.summary() == {"last": 0.9}
    with pytest.raises(ValueError, match="only its last value"):
        series.aggregate("max")


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("-2", -2), ("0.5", 0.5), ("1e-05", 1e-05), ("None", None), ("False", False)],
)
def test_params_come_back_typed(text: str, value: object) -> None:
    assert flag_value(text) == value and type(flag_value(text)) is type(value)


def test_tags_read_as_guild_tags() -> None:
    tags = {"reviewed": "True", "flag": "", "stage": "candidate", "mlflow.user": "x"}
    assert tag_strings(tags) == ("flag", "reviewed", "stage=candidate")


def test_history_orders_by_step_then_time() -> None:
    series = history_series("m", [(2, 5, 0.3), (0, 1, 0.1), (2, 9, -1.7976931348623157e308)])
    assert series == ScalarSeries("m", "", (0, 2, 2), (0.1, 0.3, -math.inf))
    assert series.aggregate("last") == -math.inf and series.aggregate("first") == 0.1


def test_search_filter_only_what_mlflow_does_exactly() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert search_filter([RunStatus.COMPLETED], None) == "attributes.status = 'FINISHED'"
    assert search_filter([RunStatus.COMPLETED, RunStatus.ERROR], None) == ""
    assert search_filter([RunStatus.STAGED], when) == (
        f"attributes.start_time >= {int(when.timestamp() * 1000)}"
    )


def test_reproduce_commands() -> None:
    run = to_run(_data())
    tags = {"mlflow.project.entryPoint": "main", "mlflow.source.name": "/x/train.py"}
    lines = reproduce_command(run, tags, {"lr": "0.001"}).splitlines()
    assert lines == [
        f"git checkout {'c' * 40}",
        "dvc pull",
        "mlflow run . --entry-point main --experiment-name exp -P lr=0.001",
    ]
    plain = reproduce_command(run, {"mlflow.source.name": "/x/train.py"}, {"a": "[1, 2]"})
    assert "python train.py" in plain and "'a=[1, 2]'" in plain
    assert "exp" in shlex.split(plain)


def test_tracking_uri_choice(tmp_path: Path) -> None:
    assert tracking_uri(tmp_path, "http://h:5000", {}) == "http://h:5000"
    assert tracking_uri(tmp_path, None, {"MLFLOW_TRACKING_URI": "https://x"}) == "https://x"
    assert tracking_uri(tmp_path, None, {}) == str(tmp_path.resolve() / "mlruns")
    assert tracking_uri(tmp_path, "sqlite:///m.db", {}) == f"sqlite:///{tmp_path.resolve()}/m.db"
    assert tracking_uri(tmp_path, "sqlite:////abs/m.db", {}) == "sqlite:////abs/m.db"
    assert tracking_uri(tmp_path, "file:///abs/runs", {}) == "/abs/runs"
    assert is_remote("http://h") and not is_remote("/abs/runs") and not is_remote("sqlite:///a")
