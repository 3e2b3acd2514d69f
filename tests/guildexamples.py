"""A second test bed: small projects modelled on Guild's own examples, run with ``guild run``.

The projects live in ``tests/data/guild_examples/`` (our own trimmed scripts, written for these
tests, exercising the Guild features of the examples in guildai's ``examples/``: a plain
script, ``model:op`` with ``config:``/``extends:``, regex output scalars, TensorBoard scalars
in subdirectories, batch runs, upstream operations and steps). Each is copied into its own git
repository and run into one shared ``GUILD_HOME``, the projects side by side (one thread each,
a project's runs in order), once per test session. Guild itself is then the oracle:
``guild api runs``, ``guild select`` and ``guild api merge --preview``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.guildrun import guild, guild_env, guild_exe
from tests.promotion import PromotionRepo
from tests.repos import IDENTITY, commit_all, git, make_dvc_remote

EXAMPLES = Path(__file__).parent / "data" / "guild_examples"
EVENTS_WRITER = EXAMPLES / "tbevents.py"


@dataclass(frozen=True)
class Step:
    """One ``guild run`` of a project; ``name`` names the run it makes (a batch: the batch run).

    ``{name}`` in a flag is the id of an earlier run of the project: Guild resolves a bare
    ``operation: train`` to the newest ``train`` run of any project in the home.
    """

    name: str
    op: str
    flags: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


# What each project runs, in order. Names are how tests refer to the runs.
PLAN: dict[str, tuple[Step, ...]] = {
    "get-started": (
        Step("gs-a", "train.py", ("x=0.2", "noise=0.0")),
        Step("gs-b", "train.py", ("x=-0.3",)),
        Step("gs-nan", "train.py", ("x=nan", "noise=-inf")),
        Step("gs-inf", "train.py", ("x=0.5", "noise=inf")),
    ),
    "iris-svm": (
        Step("iris", "iris-svm:train"),
        Step(
            "iris-batch",
            "iris-svm:train",
            ("kernel=[linear,rbf]", "gamma=[0.1,1.0]"),
            ("--keep-batch",),
        ),
    ),
    "scalars": (
        Step("scalars-map", "train"),
        Step("scalars-general", "train2"),
        Step("scalars-events", "train3"),
        Step("scalars-line", "train4"),
    ),
    "models": (
        Step("intro", "mnist-intro:train"),
        Step("expert-fast", "mnist-expert:train", ("lr=0.001",)),
        Step("expert", "mnist-expert:train"),
        Step("intro-evaluate", "mnist-intro:evaluate", ("operation:train={intro}",)),
    ),
    "tensorboard": (
        Step("nested", "nested"),
        Step("summary", "summary"),
    ),
    "pipeline": (
        Step("prepare", "prepare-data"),
        Step("downstream", "train"),
        Step("pipeline", "pipeline"),
    ),
}
# Projects whose scripts log TensorBoard events with tests/data/guild_examples/tbevents.py.
USES_EVENTS_WRITER = ("scalars", "models", "tensorboard")
# Projects whose runs record `pip freeze` (a third of a run's time): elsewhere NO_PIP_FREEZE=1.
RECORDS_PIP_FREEZE = ("models", "tensorboard")


@dataclass
class GuildExamples:
    """The example projects (each a git repository), their GUILD_HOME and the runs by name."""

    root: Path
    home: Path
    projects: dict[str, Path]
    ids: dict[str, str] = field(default_factory=dict)
    made: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _api_runs: dict[str, dict[str, Any]] | None = None

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def project_of(self, name: str) -> Path:
        """The project a named run was made in."""
        return next(
            self.projects[p] for p, steps in PLAN.items() if any(s.name == name for s in steps)
        )

    def guild(self, *args: str, project: Path | None = None) -> str:
        """A ``guild`` command against this bed's home; stdout."""
        return guild(project or self.root, self.home, *args)

    def home_with(self, where: Path, *names: str) -> Path:
        """A GUILD_HOME at ``where`` holding copies of the runs the named steps made (Guild
        copies a run's dependencies, so a copied run stands alone)."""
        for name in names:
            for run_id in self.made[name]:
                shutil.copytree(self.home / "runs" / run_id, where / "runs" / run_id, symlinks=True)
        return where

    def api_runs(self) -> dict[str, dict[str, Any]]:
        """``guild api runs --include-batch`` (every status), by run id; read once."""
        if self._api_runs is None:
            out = self.guild("api", "runs", "--include-batch")
            self._api_runs = {r["id"]: r for r in json.loads(out)}
        return self._api_runs


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_example_project(name: str, dest: Path) -> Path:
    """Copy one example project to ``dest`` as a git repository with one commit."""
    shutil.copytree(EXAMPLES / name, dest)
    if name in USES_EVENTS_WRITER:
        shutil.copy(EVENTS_WRITER, dest / EVENTS_WRITER.name)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", ".")
    _git(dest, "commit", "-q", "-m", f"the {name} example")
    return dest


def _run_ids(home: Path) -> set[str]:
    runs = home / "runs"
    return set(os.listdir(runs)) if runs.is_dir() else set()


def _project_of_run(run_dir: Path) -> Path | None:
    """The project a run was started from, by its opref (a batch run: by its prototype's)."""
    for opref in (run_dir / ".guild" / "opref", run_dir / ".guild" / "proto" / ".guild" / "opref"):
        try:
            pkg = shlex.split(opref.read_text())[0]
        except (OSError, IndexError, ValueError):
            continue
        kind, _, where = pkg.partition(":")
        if kind == "guildfile":
            return Path(where).parent
        if kind == "script":
            return Path(where)
    return None


def _started(run_dir: Path) -> int:
    try:
        return int((run_dir / ".guild" / "attrs" / "started").read_text())
    except (OSError, ValueError):
        return 0


def _run_project(bed: GuildExamples, name: str) -> None:
    project = bed.projects[name]
    for step in PLAN[name]:
        before = _run_ids(bed.home)
        started = time.monotonic()
        flags = [flag.format(**bed.ids) for flag in step.flags]
        env = guild_env(bed.home)
        if name not in RECORDS_PIP_FREEZE:
            env["NO_PIP_FREEZE"] = "1"
        done = subprocess.run(
            [str(guild_exe()), "run", step.op, *flags, *step.options, "-y"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"guild run {step.op} failed:\n{done.stdout}\n{done.stderr}"
        bed.timings[step.name] = time.monotonic() - started
        new = [
            i
            for i in _run_ids(bed.home) - before
            if _project_of_run(bed.home / "runs" / i) == project
        ]
        new.sort(key=lambda i: _started(bed.home / "runs" / i))
        assert new, f"guild run {step.op} made no run"
        bed.made[step.name] = new
        bed.ids[step.name] = new[0]  # the run started first: a batch or steps run's parent


def make_guild_examples(root: Path) -> GuildExamples:
    """Copy every example project under ``root`` and run its plan into ``root/guild-home``."""
    home = root / "guild-home"
    home.mkdir(parents=True)
    projects = {name: make_example_project(name, root / name) for name in PLAN}
    bed = GuildExamples(root, home, projects)
    with ThreadPoolExecutor(max_workers=len(projects)) as pool:
        for done in [pool.submit(_run_project, bed, name) for name in projects]:
            done.result()
    return bed


@pytest.fixture(scope="session")
def guild_examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuildExamples]:
    """Guild's example projects, trimmed, each run as its plan says (once per session)."""
    if guild_exe() is None:
        pytest.skip("guild is not installed (pip install -e '.[dev]')")
    yield make_guild_examples(tmp_path_factory.mktemp("guild-examples"))


def make_example_repo(bed: GuildExamples, project: str, where: Path, config: str) -> PromotionRepo:
    """``where/work``: a clone of an example project (the commit its runs started from) with
    ``config`` as ``.promoter.yml`` and DVC set up, pushed to the bare ``where/remote.git``;
    the DVC remote is ``where/dvc-remote``."""
    work, bare = where / "work", where / "remote.git"
    git(where, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(where, "clone", "--quiet", str(bed.projects[project]), str(work))
    for key, value in IDENTITY.items():
        git(work, "config", key, value)
    git(work, "remote", "set-url", "origin", str(bare))
    (work / ".promoter.yml").write_text(config)
    make_dvc_remote(work, where / "dvc-remote")
    commit_all(work, "promoter and DVC")
    git(work, "push", "--quiet", "--set-upstream", "origin", "main")
    return PromotionRepo(work, bare, where / "dvc-remote")
