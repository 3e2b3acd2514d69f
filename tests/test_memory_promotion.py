"""A full promotion with a run store and a forge written against the interfaces alone (in
memory) and real git with a bare remote: the core needs nothing Guild, DVC or GitHub."""

from __future__ import annotations

from pathlib import Path

import yaml

from promoter.candidates import select_best
from promoter.core.selection import Decision
from promoter.forges.markers import find_promotion, marked_run
from promoter.promotion.outcome import Outcome
from promoter.promotion.promote import PromoteRequest, promote
from promoter.settings import resolve_settings
from tests.memory import (
    MEMORY_CONFIG,
    MemoryForge,
    add_run_files,
    memory_id,
    memory_run,
    memory_world,
)
from tests.repos import commit_all, git, make_repo_with_bare_remote


def _project(tmp_path: Path) -> tuple[Path, Path]:
    work, bare = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text(MEMORY_CONFIG)
    commit_all(work, "promoter config")
    git(work, "push", "-q", "origin", "main")
    return work, bare


def test_select_reads_only_the_interface(tmp_path: Path) -> None:
    work, _ = _project(tmp_path)
    store = memory_world(tmp_path, (0.8, 0.95, 0.9))
    selection, listing = select_best(resolve_settings(work, env={}), store)
    assert selection.decision is Decision.PROMOTE
    assert selection.winner is not None and selection.winner.run.id == memory_id(2)
    assert len(listing.runs) == 3
    assert store.materialized == [], "selection reads no run files"


def test_promote_then_unchanged_then_a_better_run_updates_in_place(tmp_path: Path) -> None:
    work, bare = _project(tmp_path)
    settings = resolve_settings(work, env={})
    store, forge = memory_world(tmp_path), MemoryForge()
    best = memory_id(2)

    first = promote(settings, store, forge, PromoteRequest())
    assert first.decision is Outcome.PROMOTED and first.run_id == best
    pull = find_promotion(forge, "promote/train")
    assert pull is not None and marked_run(pull.body) == best
    assert forge.drafts[pull.number].labels == ["model-promotion"]
    files = set(git(bare, "ls-tree", "-r", "--name-only", "promote/train").split())
    assert {"train.py", "params.yml", "models/model.pkl", ".promoter/champion.yaml"} <= files
    assert git(bare, "show", "promote/train:models/model.pkl") == f"model of {best}"
    assert yaml.safe_load(git(bare, "show", "promote/train:params.yml")) == {"lr": 0.2}
    assert [run for run, _ in store.materialized] == [best], "only the winner's files are read"

    again = promote(settings, store, forge, PromoteRequest())
    assert again.decision is Outcome.UNCHANGED and again.pr_number == pull.number
    assert sum(call.startswith("create") for call in forge.calls) == 1

    better = memory_run(3, val_acc=0.97)
    store.runs.append(better)
    add_run_files(store, better)
    updated = promote(settings, store, forge, PromoteRequest())
    assert updated.decision is Outcome.UPDATED and updated.pr_number == pull.number
    assert forge.comments[-1].body.startswith(
        f"Run {best[:8]} is superseded by run {memory_id(3)[:8]}"
    )
    assert git(bare, "show", "promote/train:models/model.pkl") == f"model of {better.id}"


def test_after_the_merge_the_champion_is_on_the_base_branch(tmp_path: Path) -> None:
    work, bare = _project(tmp_path)
    settings = resolve_settings(work, env={})
    store, forge = memory_world(tmp_path), MemoryForge()
    promote(settings, store, forge, PromoteRequest())
    git(bare, "update-ref", "refs/heads/main", "refs/heads/promote/train")
    result = promote(settings, store, forge, PromoteRequest())
    assert result.decision is Outcome.NOT_BETTER
    assert "already the champion" in result.summary


def test_a_project_in_a_subdirectory_sees_its_own_uncommitted_changes(tmp_path: Path) -> None:
    """git reads pathspecs from its working directory: the checks against the working tree
    must ask about sub/train.py from the top, not sub/sub/train.py from sub/."""
    import pytest

    from promoter.promotion.merge.apply import MergeRefused
    from promoter.promotion.merge.run import merge_into_project

    work, _ = make_repo_with_bare_remote(tmp_path)
    project = work / "ml"
    project.mkdir()
    (project / ".promoter.yml").write_text(MEMORY_CONFIG)
    (project / "train.py").write_text("# committed\n")
    commit_all(work, "a project in a subdirectory")
    (project / "train.py").write_text("# my work in progress\n")
    store = memory_world(tmp_path)
    with pytest.raises(MergeRefused, match=r"train\.py: has uncommitted changes"):
        merge_into_project(resolve_settings(project, env={}), store, memory_id(2)[:8])
    assert (project / "train.py").read_text() == "# my work in progress\n"
