"""Shared fixtures: one set of real Guild runs per test session, made by ``guild run``."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakegithub import fake_github  # noqa: F401 - the shared fake GitHub fixture
from tests.fakegitlab import fake_gitlab  # noqa: F401 - the shared fake GitLab fixture
from tests.guildexamples import guild_examples  # noqa: F401 - Guild's examples, run once
from tests.guildrun import guild, guild_exe, guild_run, make_project, start_run
from tests.ledger import ledger  # noqa: F401 - the reliability figures fixture
from tests.mlflowserver import mlflow_server, mlflow_world  # noqa: F401 - a real MLflow server
from tests.s3fixtures import guild_remote, s3, s3_env  # noqa: F401 - S3 on loopback, a Guild remote

SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@dataclass
class GuildWorld:
    """A Guild project and a GUILD_HOME holding runs of every kind, by name."""

    project: Path
    home: Path
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=project,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    )


@pytest.fixture(scope="session")
def guild_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuildWorld]:
    """Real runs: completed, failed, terminated, running, staged, NaN, missing scalar,
    tagged and labelled, from a dirty tree, another operation, and a deleted run."""
    if guild_exe() is None:
        pytest.skip("guild is not installed (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("guild")
    project = make_project(root / "project")
    home = root / "guild-home"
    home.mkdir()
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "initial")
    world = GuildWorld(project, home)
    ids = world.ids
    ids["prepare"] = guild_run(project, home, "prepare")
    ids["low"] = guild_run(project, home, "train", "acc=0.80", "lr=0.1", label="low")
    ids["tagged"] = guild_run(
        project, home, "train", "acc=0.90", "lr=0.2", label="candidate", tags=("reviewed",)
    )
    ids["best"] = guild_run(project, home, "train", "acc=0.93", "lr=0.3")
    ids["failed"] = guild_run(project, home, "train", "acc=0.99", "fail=yes")
    ids["nan"] = guild_run(project, home, "train", "acc=0.97", "nan=yes")
    ids["nolatency"] = guild_run(project, home, "train", "acc=0.95", "latency=no")
    train = project / "train.py"
    original = train.read_text()
    train.write_text(original + "\n# an uncommitted edit\n")
    ids["dirty"] = guild_run(project, home, "train", "acc=0.91", "lr=0.2")
    train.write_text(original)
    ids["staged"] = guild_run(project, home, "train", "acc=0.985", stage=True)
    ids["deleted"] = guild_run(project, home, "train", "acc=0.999")
    guild(project, home, "runs", "rm", "-y", ids["deleted"])
    ids["terminated"], stopped = start_run(project, home, "acc=0.98", "sleep=30")
    guild(project, home, "stop", "-y", ids["terminated"])
    stopped.wait(timeout=60)
    ids["running"], running = start_run(project, home, "acc=0.995", "sleep=600")
    try:
        yield world
    finally:
        os.killpg(running.pid, signal.SIGTERM)
        running.wait(timeout=60)


@pytest.fixture(autouse=True, scope="session")
def _private_run_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the run cache of every test out of the user's ~/.cache."""
    old = os.environ.get("PROMOTER_CACHE_DIR")
    os.environ["PROMOTER_CACHE_DIR"] = str(tmp_path_factory.mktemp("run-cache"))
    yield
    if old is None:
        os.environ.pop("PROMOTER_CACHE_DIR", None)
    else:
        os.environ["PROMOTER_CACHE_DIR"] = old
