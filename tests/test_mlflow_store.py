"""The MLflow store against a real tracking server: the mapping, winners equal to what MLflow's
own ``search_runs`` ordering gives (the oracle), histories read only where needed, and bad
input (unknown experiment, unreachable or silent server, missing local store)."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from promoter.candidates import select_best
from promoter.cli import main
from promoter.config import parse_config
from promoter.core.models import Champion, RunStatus
from promoter.errors import ConfigError, PromoterError, UsageError
from promoter.runs.mlflow.connection import client_environment
from promoter.runs.mlflow.store import MlflowRunStore, open_mlflow_store
from promoter.settings import Settings
from tests.mlflowserver import MLFLOW_PROJECT, MlflowWorld, log_runs

pytestmark = pytest.mark.slow


def _settings(world: MlflowWorld, tmp_path: Path, select: dict, experiment: str = "train"):
    data = {
        "source": {"type": "mlflow", "tracking_uri": world.server.url, "experiment": experiment},
        "select": select,
    }
    return Settings(tmp_path, parse_config(data, "test.yml"), None, env={})


def _store(world: MlflowWorld, *experiments: str) -> MlflowRunStore:
    client_environment({})
    return MlflowRunStore(world.server.url, list(experiments or ["train"]))


def test_runs_map_as_spec_says(mlflow_world: MlflowWorld) -> None:
    runs = {r.id: r for r in _store(mlflow_world).list_runs().runs}
    w = mlflow_world
    assert w["deleted"] not in runs
    assert runs[w["failed"]].status is RunStatus.ERROR
    assert runs[w["killed"]].status is RunStatus.TERMINATED
    assert runs[w["running"]].status is RunStatus.RUNNING
    low = runs[w["low"]]
    assert (low.op, low.label, low.status) == ("train", "low", RunStatus.COMPLETED)
    assert low.flags == {"lr": 0.1, "epochs": 3, "seed": 7}
    assert low.source_commit == w.commits["main"] and low.vcs_commit == f"git:{low.source_commit}"
    assert runs[w["best"]].source_commit == w.commits["feature"]
    assert "reviewed" in runs[w["tagged"]].tags
    assert any(t.startswith("dvc_model_md5=") for t in low.tags)
    assert not any(t.startswith("mlflow.") for t in low.tags)
    assert set(low.scalars) == {"val_acc", "train/loss", "latency_ms"}
    assert low.scalars["val_acc"].latest_only and low.scalars["val_acc"].values == (0.8,)
    assert math.isnan(runs[w["nan"]].scalars["val_acc"].values[0])
    assert runs[w["low"]].started < runs[w["tagged"]].started


def _oracle(world: MlflowWorld, order: list[str], where: str = "") -> str:
    """What MLflow's own search gives first for the same filters and order."""
    client = MlflowClient(world.server.url)
    experiment = client.get_experiment_by_name("train")
    assert experiment is not None
    status = "attributes.status = 'FINISHED'"
    found = client.search_runs(
        [experiment.experiment_id],
        f"{status} and {where}" if where else status,
        order_by=[*order, "attributes.start_time DESC"],
        max_results=1,
    )
    return found[0].info.run_id


@pytest.mark.parametrize(
    ("select", "order", "where", "expected"),
    [
        ({"objective": "max val_acc"}, ["metrics.val_acc DESC"], "", "best"),
        (
            {"objective": "max val_acc", "where": ["latency_ms <= 25"]},
            ["metrics.val_acc DESC"],
            "metrics.latency_ms <= 25",
            "tie_old",
        ),
        (
            {"objective": "max val_acc", "where": ["val_acc < 0.92"]},
            ["metrics.val_acc DESC"],
            "metrics.val_acc < 0.92",
            "tie_new",
        ),
        (
            {
                "objective": "max val_acc",
                "where": ["val_acc < 0.92"],
                "tie_break": ["min latency_ms"],
            },
            ["metrics.val_acc DESC", "metrics.latency_ms ASC"],
            "metrics.val_acc < 0.92",
            "tie_old",
        ),
        ({"objective": "min train/loss"}, ["metrics.`train/loss` ASC"], "", "tie_new"),
        (
            {"objective": "max val_acc", "tags": ["reviewed"]},
            ["metrics.val_acc DESC"],
            "tags.reviewed = 'true'",
            "tagged",
        ),
    ],
)
def test_winner_is_mlflow_search_runs_first(
    mlflow_world: MlflowWorld, tmp_path: Path, select, order, where, expected
) -> None:
    settings = _settings(mlflow_world, tmp_path, select)
    selection, listing = select_best(settings, open_mlflow_store(settings))
    assert selection.winner is not None
    assert selection.winner.run.id == _oracle(mlflow_world, order, where) == mlflow_world[expected]
    # The failed, killed, running and deleted runs have the best val_acc: none is listed.
    listed = {r.id for r in listing.runs}
    for name in ("failed", "killed", "running", "deleted"):
        assert mlflow_world[name] not in listed


def test_a_failed_run_asked_by_id_says_why(mlflow_world: MlflowWorld, tmp_path: Path) -> None:
    settings = _settings(mlflow_world, tmp_path, {"objective": "max val_acc"})
    selection, _ = select_best(settings, open_mlflow_store(settings), run=mlflow_world["failed"])
    assert selection.winner is None
    assert any("status error" in r for r in selection.verdicts[0].reasons)


def test_histories_only_for_candidates_and_the_metrics_aggregated(
    mlflow_world: MlflowWorld, tmp_path: Path
) -> None:
    server = mlflow_world.server
    since = server.settled()
    select = {"objective": "max max:val_acc", "where": ["min:train/loss < 5"]}
    settings = _settings(mlflow_world, tmp_path, select)
    selection, listing = select_best(settings, open_mlflow_store(settings))
    asked = [r for r in server.requests()[since : server.settled()] if "get-history" in r]
    keys = {line.split("metric_key=")[1].split("&")[0].split()[0] for line in asked}
    assert keys == {"val_acc", "train%2Floss"}
    completed = {r.id for r in listing.runs if r.status is RunStatus.COMPLETED}
    asked_runs = {line.split("run_id=")[1][:32] for line in asked}
    assert asked_runs == completed
    assert len(asked) == 2 * len(completed)
    assert selection.winner is not None
    client = MlflowClient(server.url)
    best = max(
        completed,
        key=lambda i: max(m.value for m in client.get_metric_history(i, "val_acc")),
    )
    assert selection.winner.run.id == best
    # Last-value objectives read no history at all.
    since = server.settled()
    plain = _settings(mlflow_world, tmp_path, {"objective": "max val_acc"})
    select_best(plain, open_mlflow_store(plain))
    assert not [r for r in server.requests()[since : server.settled()] if "get-history" in r]


def test_runs_json_shows_the_last_value_only(
    mlflow_world: MlflowWorld, tmp_path: Path, capsys
) -> None:
    (tmp_path / ".promoter.yml").write_text(
        f"source: {{type: mlflow, tracking_uri: '{mlflow_world.server.url}', experiment: train}}\n"
        "select: {objective: max val_acc, where: ['max:latency_ms < 100']}\n"
    )
    assert main(["runs", "--project", str(tmp_path), "--json"]) == 0
    runs = {r["id"]: r for r in json.loads(capsys.readouterr().out)["runs"]}
    low = runs[mlflow_world["low"]]
    assert low["scalars"]["val_acc"] == {"last": 0.8}
    assert low["scalars"]["latency_ms"]["count"] == 1
    assert low["scalars"]["train/loss"].keys() == {"last"}


def test_reproduce_with_entry_point_and_provenance(mlflow_world: MlflowWorld) -> None:
    store = _store(mlflow_world, "projects")
    (run,) = store.list_runs().runs
    lines = store.reproduce(run).splitlines()
    assert lines[0] == f"git checkout {mlflow_world.commits['main']}"
    assert lines[1] == "dvc pull"
    assert lines[2].startswith("mlflow run . --entry-point main --experiment-name projects -P acc=")
    assert store.provenance(run).random_seed == 7
    nogit = _store(mlflow_world, "nogit")
    (plain,) = nogit.list_runs().runs
    assert "recorded no git commit" in nogit.reproduce(plain)
    assert "MLFLOW_EXPERIMENT_NAME=nogit python train.py" in nogit.reproduce(plain)


def test_unknown_experiment_names_it_and_lists_the_others(
    mlflow_world: MlflowWorld, tmp_path: Path
) -> None:
    settings = _settings(mlflow_world, tmp_path, {"objective": "max val_acc"}, "no-such")
    with pytest.raises(ConfigError) as info:
        open_mlflow_store(settings).list_runs()
    assert info.value.exit_code == 2 and info.value.key == "source.experiment"
    assert "'no-such'" in info.value.reason
    assert "train" in info.value.reason and "lineage" in info.value.reason


def test_unreachable_server_fails_fast_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        tmp_path,
        parse_config(
            {"source": {"type": "mlflow", "tracking_uri": f"http://127.0.0.1:{port}"}},
            "t.yml",
        ),
        None,
        env={},
    )
    started = time.monotonic()
    with pytest.raises(PromoterError) as info:
        open_mlflow_store(settings).list_runs()
    assert time.monotonic() - started < 20
    message = str(info.value)
    assert "\n" not in message and "cannot reach the MLflow tracking server" in message
    assert "connection refused" in message


def test_a_silent_server_times_out(tmp_path: Path) -> None:
    """A server that accepts and never answers: MLflow's timeout, never a hang."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "1", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1"}
    data = {"source": {"type": "mlflow", "tracking_uri": f"http://127.0.0.1:{port}"}}
    settings = Settings(tmp_path, parse_config(data, "t.yml"), None, env=env)
    started = time.monotonic()
    try:
        with pytest.raises(PromoterError) as info:
            open_mlflow_store(settings).list_runs()
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
        client_environment({})
    assert time.monotonic() - started < 15
    assert "cannot reach" in str(info.value) and "timed out" in str(info.value)


def test_a_local_store(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("train.py", "MLproject"):
        (project / name).write_text((MLFLOW_PROJECT / name).read_text())
    (run_id,) = log_runs(project, f"file://{project / 'mlruns'}", "local", {"acc": 0.7})
    data = {"source": {"type": "mlflow", "tracking_uri": "mlruns", "experiment": "local"}}
    settings = Settings(project, parse_config(data, "t.yml"), None, env={})
    store = open_mlflow_store(settings)
    (run,) = store.list_runs().runs
    assert run.id == run_id and run.source_commit is None
    root = store.materialize(run, ["model.pkl"])
    assert (root / "model.pkl").read_text().startswith("model acc=0.7")
    missing = Settings(tmp_path, parse_config(data, "t.yml"), None, env={})
    with pytest.raises(UsageError, match="does not exist"):
        open_mlflow_store(missing).list_runs()


def test_the_champions_run_is_read_whatever_the_filters(
    mlflow_world: MlflowWorld, tmp_path: Path
) -> None:
    """The champion's run failed (the server filters it out), yet its value is its run's."""
    champion = Champion(mlflow_world["killed"], "train", "val_acc", 0.5)
    settings = _settings(mlflow_world, tmp_path, {"objective": "max max:val_acc"})
    selection, listing = select_best(
        settings, open_mlflow_store(settings), champion=lambda: champion
    )
    assert mlflow_world["killed"] in {r.id for r in listing.runs}
    assert selection.champion is not None
    assert selection.champion.value_source == "run"
    assert selection.champion.value == pytest.approx(0.985)
    assert selection.decision.value == "not-better"
    killed = next(v for v in selection.verdicts if v.run.id == mlflow_world["killed"])
    assert not killed.eligible and "status terminated" in killed.reasons[0]


def test_the_parent_of_nested_runs_is_never_a_candidate(
    mlflow_world: MlflowWorld, tmp_path: Path
) -> None:
    client = MlflowClient(mlflow_world.server.url)
    exp = client.create_experiment("nested")
    parent = client.create_run(exp, run_name="sweep").info.run_id
    client.log_metric(parent, "val_acc", 0.99)
    client.set_terminated(parent)
    child = client.create_run(exp, tags={"mlflow.parentRunId": parent}).info.run_id
    client.log_metric(child, "val_acc", 0.9)
    client.set_terminated(child)
    settings = _settings(mlflow_world, tmp_path, {"objective": "max val_acc"}, "nested")
    selection, _ = select_best(settings, open_mlflow_store(settings))
    assert selection.winner is not None and selection.winner.run.id == child
    swept = next(v for v in selection.verdicts if v.run.id == parent)
    assert swept.run.batch and "batch run" in swept.reasons[0]
    empty = client.create_experiment("empty")
    assert empty
    with pytest.raises(UsageError, match="holds no runs"):
        _store(mlflow_world, "empty").list_runs()


def test_every_run_filtered_out_by_the_server_is_no_candidate(
    mlflow_world: MlflowWorld, tmp_path: Path
) -> None:
    settings = _settings(
        mlflow_world, tmp_path, {"objective": "max val_acc", "started_after": "2099-01-01"}
    )
    selection, listing = select_best(settings, open_mlflow_store(settings))
    assert not listing.runs and selection.decision.value == "no-candidate"


def test_cli_exit_codes_for_bad_mlflow_input(
    mlflow_world: MlflowWorld, tmp_path: Path, capsys
) -> None:
    config = tmp_path / ".promoter.yml"
    url = mlflow_world.server.url
    config.write_text(
        f"source: {{type: mlflow, tracking_uri: '{url}', experiment: typo}}\n"
        "select: {objective: max val_acc}\n"
    )
    assert main(["select", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "source.experiment: no experiment 'typo'" in err[0]
    assert "train" in err[0]
    config.write_text(
        "source: {type: mlflow, tracking_uri: 'http://127.0.0.1:9', experiment: train}\n"
        "select: {objective: max val_acc}\n"
    )
    assert main(["select", "--project", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("promoter: error: cannot reach the MLflow tracking server")
