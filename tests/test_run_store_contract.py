"""One contract every run store passes: the Guild home (real ``guild run`` runs) and a store
written in the tests against the interface alone. A new store joins by adding one factory to
``STORES`` that returns the store, a run to read, and a store that cannot be read."""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.core.models import Provenance, Run, RunStatus
from promoter.errors import UsageError
from promoter.runs.base import RunStore
from promoter.runs.guild.store import GuildRunStore
from promoter.runs.mlflow.connection import client_environment
from promoter.runs.mlflow.store import MlflowRunStore
from tests.conftest import GuildWorld
from tests.memory import MemoryStore, memory_run
from tests.mlflowserver import MlflowWorld

FULL_ID = re.compile(r"[0-9a-f]{32}\Z")


@dataclass
class Subject:
    store: RunStore
    run_id: str
    """A completed run with source and generated files."""
    unreadable: RunStore
    """A store whose place does not exist or holds nothing."""
    half_written: Callable[[], RunStore] | None = None
    """A store holding the run and a copy of it without attributes (id HALF_WRITTEN)."""
    has_source: bool = True
    """The store keeps the run's source files (MLflow keeps none: the run's commit is its
    source)."""


HALF_WRITTEN = "ef" * 16


def _half_written_home(world: GuildWorld, home: Path) -> Path:
    """A Guild home with the best run and a copy of it whose attributes are missing."""
    runs = world.home / "runs"
    shutil.copytree(runs / world["best"], home / "runs" / world["best"])
    shutil.copytree(
        runs / world["best"],
        home / "runs" / HALF_WRITTEN,
        ignore=lambda d, names: ["attrs"] if d.endswith(".guild") else [],
    )
    return home


def _guild_home(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    world: GuildWorld = request.getfixturevalue("guild_world")
    return Subject(
        GuildRunStore(world.home, tmp_path / "cache"),
        world["best"],
        GuildRunStore(tmp_path / "no-such-home"),
        lambda: GuildRunStore(_half_written_home(world, tmp_path / "half")),
    )


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    runs = [memory_run(1, val_acc=0.8), memory_run(2, val_acc=0.9)]
    run_id = runs[1].id
    store = MemoryStore(
        runs,
        files={run_id: {"train.py": b"print('train')\n", "model.pkl": b"\x00model"}},
        sources={run_id: {"train.py": "train.py"}},
        scratch=tmp_path / "scratch",
    )
    return Subject(store, run_id, MemoryStore([]))


def _guild_remote(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    from promoter.runs.guild.remote import RemoteRunStore
    from tests.s3fixtures import GuildRemote

    remote: GuildRemote = request.getfixturevalue("guild_remote")
    request.getfixturevalue("s3_env")
    nothing = dataclasses.replace(remote.spec(), root="nothing-pushed-here")

    def half_written() -> RunStore:
        root = f"half-{tmp_path.name}"
        home = _half_written_home(remote.world, tmp_path / "half")
        remote.server.aws(
            "s3", "sync", "--only-show-errors", str(home / "runs"),
            f"s3://{remote.bucket}/{root}/runs/",
        )  # fmt: skip
        return RemoteRunStore(dataclasses.replace(remote.spec(), root=root), tmp_path / "c")

    return Subject(
        remote.store(tmp_path / "cache"),
        remote.world["best"],
        RemoteRunStore(nothing, tmp_path / "cache"),
        half_written,
    )


def _mlflow(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    world: MlflowWorld = request.getfixturevalue("mlflow_world")
    client_environment({})
    return Subject(
        MlflowRunStore(world.server.url, ["train"]),
        world["best"],
        MlflowRunStore(str(tmp_path / "no-such-mlruns"), ["train"]),
        has_source=False,
    )


STORES: dict[str, Callable[[pytest.FixtureRequest, Path], Subject]] = {
    "guild-home": _guild_home,
    "guild-remote-s3": _guild_remote,
    "memory": _memory,
    "mlflow": _mlflow,
}


@pytest.fixture(params=sorted(STORES))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    return STORES[request.param](request, tmp_path)


def _run(subject: Subject) -> Run:
    return next(r for r in subject.store.list_runs().runs if r.id == subject.run_id)


def test_lists_runs_newest_first_with_full_ids(subject: Subject) -> None:
    listing = subject.store.list_runs()
    ids = [r.id for r in listing.runs]
    assert ids and len(ids) == len(set(ids))
    assert all(FULL_ID.match(i) for i in ids)
    started = [r.started.timestamp() if r.started else 0.0 for r in listing.runs]
    assert started == sorted(started, reverse=True)
    assert subject.store.location


def test_progress_is_reported_up_to_the_total(subject: Subject) -> None:
    calls: list[tuple[int, int]] = []
    listing = subject.store.list_runs(lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] >= len(listing.runs) > 0


def test_a_completed_run_has_its_status_and_source_state(subject: Subject) -> None:
    run = _run(subject)
    assert run.status is RunStatus.COMPLETED
    assert isinstance(run.dirty_source, bool)
    assert run.short_id == run.id[:8]


def test_files_are_listed_with_safe_run_paths(subject: Subject) -> None:
    files = subject.store.run_files(_run(subject))
    assert bool(files.source) is subject.has_source
    assert files.generated, "a run with generated files"
    assert all(f.project_path for f in files.source)
    for f in (*files.source, *files.dependencies, *files.generated):
        assert not f.run_path.startswith("/") and ".." not in f.run_path.split("/")


def test_materialize_makes_the_asked_files_readable(subject: Subject) -> None:
    run = _run(subject)
    files = subject.store.run_files(run)
    wanted = [*[s.run_path for s in files.source[:1]], *[g.run_path for g in files.generated[:1]]]
    root = subject.store.materialize(run, wanted)
    for path in wanted:
        assert (root / path).is_file(), path
    for generated in files.generated[:1]:
        if generated.size is not None:
            assert (root / generated.run_path).stat().st_size == generated.size


def test_provenance_and_reproduce(subject: Subject) -> None:
    run = _run(subject)
    assert isinstance(subject.store.provenance(run), Provenance)
    words = shlex.split(subject.store.reproduce(run))
    assert words and run.op in words


def test_a_store_that_cannot_be_read_is_a_usage_error(subject: Subject) -> None:
    with pytest.raises(UsageError):
        subject.unreadable.list_runs()


def test_a_half_written_run_is_skipped_with_a_reason(subject: Subject) -> None:
    if subject.half_written is None:
        pytest.skip("this store cannot hold a half-written run")
    listing = subject.half_written().list_runs()
    assert [r.id for r in listing.runs] == [subject.run_id]
    (skipped,) = listing.skipped
    assert skipped.run_id == HALF_WRITTEN and "attributes" in skipped.reason
