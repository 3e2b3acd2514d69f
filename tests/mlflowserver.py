"""A real MLflow tracking server on loopback (sqlite backend, local artifact root, gunicorn's
access log kept so tests see which artifacts a client fetched), and runs logged into it with
the real MLflow client from a real git project."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.repos import commit_all, git, make_dvc_remote, make_repo_with_bare_remote

MLFLOW_PROJECT = Path(__file__).parent / "data" / "mlflow_project"


def mlflow_exe() -> str | None:
    """The ``mlflow`` command beside this Python, or ``None`` when MLflow is absent."""
    beside = Path(sys.executable).parent / "mlflow"
    return str(beside) if beside.exists() else None


@dataclass
class MlflowServer:
    """A running ``mlflow server`` and its gunicorn access log."""

    url: str
    access_log: Path
    process: subprocess.Popen[bytes]

    def requests(self) -> list[str]:
        """The request lines served so far (``GET /api/... HTTP/1.1``)."""
        if not self.access_log.exists():
            return []
        return re.findall(r'"((?:GET|POST|PUT|DELETE|PATCH) [^"]*)"', self.access_log.read_text())

    def settled(self, quiet: float = 0.5, timeout: float = 10) -> int:
        """The number of requests logged, once the log has stopped growing: gunicorn writes
        a request's line after sending the answer, so a client can be ahead of the log."""
        count, deadline = len(self.requests()), time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = len(self.requests())
            if now == count:
                return count
            count = now
        return count

    def artifact_runs(self, since: int = 0) -> set[str]:
        """Run ids whose artifacts were listed or downloaded (request ``since`` onwards)."""
        runs: set[str] = set()
        for line in self.requests()[since:]:
            if "mlflow-artifacts/artifacts" in line:
                runs.update(re.findall(r"[0-9a-f]{32}", line))
        return runs

    def downloads(self, since: int = 0) -> list[str]:
        """Artifact files downloaded (request ``since`` onwards)."""
        return [
            line.split()[1]
            for line in self.requests()[since:]
            if line.startswith("GET /api/2.0/mlflow-artifacts/artifacts/")
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, timeout: float = 120) -> MlflowServer:
    """``mlflow server`` in its own process group; ready when ``/health`` answers."""
    exe = mlflow_exe()
    assert exe is not None
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root / "access.log"
    command = [
        exe,
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--gunicorn-opts",
        f"--access-logfile {log}",
    ]
    out = (root / "server.log").open("wb")
    process = subprocess.Popen(
        command, cwd=root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return MlflowServer(url, log, process)
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    raise RuntimeError(f"mlflow server did not answer /health within {timeout} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and its gunicorn workers (the whole process group)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def client_env(url: str, experiment: str) -> dict[str, str]:
    """The environment of a training process logging to ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MLFLOW_"))}
    env.update(
        MLFLOW_TRACKING_URI=url,
        MLFLOW_EXPERIMENT_NAME=experiment,
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        # `mlflow run` starts `python`: this interpreter, which has mlflow.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def log_runs(project: Path, url: str, experiment: str, *specs: dict) -> list[str]:
    """Run ``train.py`` in ``project`` once, logging one run per spec; their ids in order."""
    done = subprocess.run(
        [sys.executable, "train.py", "--specs", json.dumps(list(specs))],
        cwd=project,
        env=client_env(url, experiment),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"train.py failed: {done.stderr[-3000:]}")
    ids: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return ids


@dataclass
class MlflowWorld:
    """The server, the team's repository (bare remote, DVC remote) and runs by name."""

    server: MlflowServer
    root: Path
    work: Path
    bare: Path
    ids: dict[str, str] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def copy_repo(self, dest: Path) -> tuple[Path, Path]:
        """A copy of the checkout and its bare remote (same commits), with its own DVC remote
        (``dest/dvc-remote``, in ``.dvc/config.local``)."""
        work, bare = dest / "work", dest / "remote.git"
        shutil.copytree(self.bare, bare)
        shutil.copytree(self.work, work, ignore=shutil.ignore_patterns("outputs", "mlruns"))
        git(work, "remote", "set-url", "origin", str(bare))
        remote = dest / "dvc-remote"
        remote.mkdir()
        from tests.repos import dvc

        dvc(work, "remote", "modify", "--local", "storage", "url", str(remote))
        return work, bare


def make_world(server: MlflowServer, root: Path) -> MlflowWorld:
    """Runs of every kind, logged from a git project whose remote has their commits."""
    root.mkdir(parents=True, exist_ok=True)
    work, bare = make_repo_with_bare_remote(root)
    for name in ("train.py", "MLproject", ".gitignore"):
        shutil.copy(MLFLOW_PROJECT / name, work / name)
    make_dvc_remote(work, root / "dvc-remote")
    world = MlflowWorld(server, root, work, bare)
    world.commits["main"] = commit_all(work, "the project")
    git(work, "push", "-q", "origin", "main")
    url, ids = server.url, world.ids
    names = ("low", "tagged", "failed", "killed", "nan", "tie_old", "tie_new", "deleted")
    logged = log_runs(
        work,
        url,
        "train",
        {"acc": 0.80, "lr": 0.1, "name": "low"},
        {"acc": 0.90, "lr": 0.2, "name": "tagged", "tags": {"reviewed": "true"}},
        {"acc": 0.99, "name": "failed", "fail": True},
        {"acc": 0.985, "name": "killed", "kill": True},
        {"acc": 0.5, "name": "nan", "nan": True},
        {"acc": 0.91, "lr": 0.3, "name": "tie_old", "latency": 20},
        {"acc": 0.91, "lr": 0.4, "name": "tie_new", "latency": 40},
        {"acc": 0.999, "name": "deleted"},
    )
    ids.update(zip(names, logged, strict=True))
    # The best run comes from a pushed feature branch: its change must reach the base.
    git(work, "checkout", "-q", "-b", "feature")
    train = work / "train.py"
    train.write_text(train.read_text() + "\n# feature: a better initialisation\n")
    world.commits["feature"] = commit_all(work, "a better initialisation")
    git(work, "push", "-q", "origin", "feature")
    (ids["best"],) = log_runs(work, url, "train", {"acc": 0.95, "lr": 0.05, "name": "best"})
    # A run from a commit that never reached the remote: promoted with its artifacts only.
    git(work, "checkout", "-q", "-b", "local-only")
    (work / "local.txt").write_text("never pushed\n")
    world.commits["local"] = commit_all(work, "a local experiment")
    (ids["unpushed"],) = log_runs(work, url, "unpushed", {"acc": 0.9, "name": "unpushed"})
    git(work, "checkout", "-q", "main")
    # A run whose lineage tag disagrees with its model.
    (ids["wrong_md5"],) = log_runs(work, url, "lineage", {"acc": 0.9, "wrong_md5": True})
    # A run from outside any git checkout: no mlflow.source.git.commit tag.
    outside = root / "outside"
    shutil.copytree(MLFLOW_PROJECT, outside)
    (ids["nogit"],) = log_runs(outside, url, "nogit", {"acc": 0.9, "name": "nogit"})
    # A run started by `mlflow run`: MLflow records its entry point and params.
    env = client_env(url, "projects")
    done = subprocess.run(
        [
            mlflow_exe() or "mlflow",
            "run",
            ".",
            "-e",
            "main",
            "-P",
            "acc=0.88",
            "--env-manager",
            "local",
            "--experiment-name",
            "projects",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlflow run failed: {done.stderr[-3000:]}")
    ids["project"] = re.findall(r"=== Run \(ID '([0-9a-f]{32})'\) succeeded ===", done.stderr)[0]
    # The base moves on after the runs: the promotion must keep this.
    (work / "NOTES.md").write_text("notes added on main after the runs\n")
    world.commits["moved"] = commit_all(work, "notes on main")
    git(work, "push", "-q", "origin", "main")
    from mlflow import MlflowClient

    client = MlflowClient(url)
    client.delete_run(ids["deleted"])
    experiment = client.get_experiment_by_name("train")
    assert experiment is not None
    ids["running"] = client.create_run(experiment.experiment_id, run_name="running").info.run_id
    client.log_metric(ids["running"], "val_acc", 0.997)
    return world


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real MLflow tracking server on loopback for the whole session."""
    if mlflow_exe() is None:
        pytest.skip("mlflow is not installed (pip install -e '.[dev]')")
    server = start_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server
    finally:
        stop_server(server.process)


@pytest.fixture(scope="session")
def mlflow_world(
    mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory
) -> MlflowWorld:
    """Runs of every kind on the session's server (see :func:`make_world`)."""
    return make_world(mlflow_server, tmp_path_factory.mktemp("mlflow-world"))
