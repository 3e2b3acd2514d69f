"""The rules a promotion keeps when the run, the branch or the people around it are not what
they should be: real git with a bare remote, real DVC, the in-memory store and forge."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from promoter.errors import PromoterError
from promoter.forges.base import PullRequestDraft, PullState
from promoter.forges.markers import find_promotion
from promoter.promotion.merge.apply import MergeRefused
from promoter.promotion.merge.plan import PROTECTED
from promoter.promotion.outcome import Outcome
from promoter.promotion.planner import FOREIGN_PR
from promoter.promotion.promote import PromoteRequest, promote
from promoter.settings import Settings, resolve_settings
from promoter.tools.git import Git
from promoter.tools.owners import process_identity
from promoter.tools.worktree import worktrees_root
from tests.memory import (
    MemoryForge,
    MemoryStore,
    add_run_files,
    memory_id,
    memory_run,
    memory_world,
)
from tests.repos import commit_all, dvc_exe, git, make_dvc_remote, make_repo_with_bare_remote

DVC_CONFIG = """\
select:
  objective: max val_acc
merge:
  flags_file: params.yml
  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]
"""
PLAIN_CONFIG = """\
select:
  objective: max val_acc
merge:
  artifacts: [{from: model.pkl, to: models/model.pkl}]
"""


class Repo:
    """A project repository with a bare remote (and a DVC remote when asked)."""

    def __init__(self, tmp_path: Path, config: str = PLAIN_CONFIG, with_dvc: bool = False):
        self.work, self.bare = make_repo_with_bare_remote(tmp_path)
        (self.work / ".promoter.yml").write_text(config)
        self.dvc_remote = tmp_path / "dvc-remote"
        if with_dvc:
            make_dvc_remote(self.work, self.dvc_remote)
        commit_all(self.work, "project")
        git(self.work, "push", "-q", "origin", "main")
        self.settings: Settings = resolve_settings(self.work, env={})

    def branch(self, name: str = "promote/train") -> str:
        return git(self.bare, "branch", "--list", name, "--format=%(objectname)").strip()

    def dvc_objects(self) -> list[Path]:
        return [p for p in self.dvc_remote.rglob("*") if p.is_file()]

    def checkout_state(self) -> tuple[str, str]:
        return git(self.work, "rev-parse", "HEAD"), git(self.work, "status", "--porcelain")


def _hostile(store: MemoryStore, path: str) -> None:
    run = store.runs[-1]
    store.files[run.id][path] = b"on: push\njobs: {steal: {runs-on: ubuntu-latest}}\n"
    store.sources[run.id][path] = path


@pytest.mark.parametrize("path", [".github/workflows/evil.yml", ".GIT/config", ".gitattributes"])
def test_a_run_that_would_change_automation_stops_before_dvc_push(tmp_path, path) -> None:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    repo = Repo(tmp_path, DVC_CONFIG, with_dvc=True)
    store, forge = memory_world(tmp_path), MemoryForge()
    _hostile(store, path)
    before = repo.checkout_state()
    with pytest.raises(MergeRefused) as refused:
        promote(repo.settings, store, forge, PromoteRequest())
    assert [r.path for r in refused.value.refusals] == [path]
    assert repo.dvc_objects() == [], "nothing reached the DVC remote"
    assert repo.branch() == "" and forge.pulls_ == []
    assert repo.checkout_state() == before
    assert list(worktrees_root(Git(repo.work)).iterdir()) == []


def test_merge_allow_lets_a_listed_automation_change_in(tmp_path) -> None:
    repo = Repo(tmp_path, PLAIN_CONFIG + "  allow: ['.github/workflows/*.yml']\n")
    store, forge = memory_world(tmp_path), MemoryForge()
    _hostile(store, ".github/workflows/evil.yml")
    assert promote(repo.settings, store, forge, PromoteRequest()).decision is Outcome.PROMOTED
    assert "steal" in git(repo.bare, "show", "promote/train:.github/workflows/evil.yml")


def test_the_refusal_names_the_rule(tmp_path) -> None:
    repo = Repo(tmp_path)
    store = memory_world(tmp_path)
    _hostile(store, ".github/workflows/evil.yml")
    with pytest.raises(MergeRefused, match="a run may not change it"):
        promote(repo.settings, store, MemoryForge(), PromoteRequest())
    assert PROTECTED.format(reason="x").endswith("(merge.allow lists paths it may)")


def test_a_broken_template_stops_before_dvc_push(tmp_path) -> None:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    config = DVC_CONFIG + "pr:\n  template: body.md.j2\n"
    repo = Repo(tmp_path, config, with_dvc=True)
    (repo.work / "body.md.j2").write_text("{{ run.id }} {{ run.no_such_field.deeper }}\n")
    commit_all(repo.work, "template")
    git(repo.work, "push", "-q", "origin", "main")
    with pytest.raises(PromoterError, match=r"body\.md\.j2"):
        promote(repo.settings, memory_world(tmp_path), MemoryForge(), PromoteRequest())
    assert repo.dvc_objects() == [] and repo.branch() == ""


def test_a_relative_remote_url_is_read_from_the_checkout(tmp_path) -> None:
    repo = Repo(tmp_path)
    git(repo.work, "remote", "set-url", "origin", "../remote.git")
    result = promote(repo.settings, memory_world(tmp_path), MemoryForge(), PromoteRequest())
    assert result.decision is Outcome.PROMOTED
    assert repo.branch() != ""
    assert git(repo.work, "remote", "get-url", "origin").strip() == "../remote.git"


def test_a_missing_relative_remote_fails_before_anything(tmp_path) -> None:
    repo = Repo(tmp_path)
    git(repo.work, "remote", "set-url", "origin", "../nowhere.git")
    with pytest.raises(PromoterError, match=r"nowhere\.git resolves to .*, which is missing"):
        promote(repo.settings, memory_world(tmp_path), MemoryForge(), PromoteRequest())


def test_a_pr_promoter_did_not_open_is_never_pushed_to(tmp_path) -> None:
    repo = Repo(tmp_path)
    forge = MemoryForge()
    forge.create(PullRequestDraft("WIP: my tweaks", "by a person", "promote/train", "main"))
    result = promote(repo.settings, memory_world(tmp_path), forge, PromoteRequest())
    assert result.decision is Outcome.REFUSED
    assert result.summary == FOREIGN_PR.format(branch="promote/train", pr="pull request #1")
    assert repo.branch() == ""
    assert [c for c in forge.calls if c.startswith(("create", "update"))] == [
        "create promote/train"
    ]


def test_a_closed_promotion_declines_its_run_until_asked_by_id(tmp_path) -> None:
    repo = Repo(tmp_path)
    store, forge = memory_world(tmp_path), MemoryForge()
    first = promote(repo.settings, store, forge, PromoteRequest())
    assert first.pr_number is not None
    forge.close(first.pr_number)
    again = promote(repo.settings, store, forge, PromoteRequest())
    assert again.decision is Outcome.DECLINED
    assert (
        f"run {memory_id(2)[:8]} was declined in pull request #{first.pr_number}" in again.summary
    )
    asked = promote(repo.settings, store, forge, PromoteRequest(run=memory_id(2)[:8]))
    assert asked.decision is Outcome.PROMOTED and asked.pr_number != first.pr_number
    better = memory_run(3, val_acc=0.99)
    store.runs.append(better)
    add_run_files(store, better)
    forge.close(asked.pr_number or 0)
    assert promote(repo.settings, store, forge, PromoteRequest()).decision is Outcome.PROMOTED


def _clone(repo: Repo, tmp_path: Path, name: str) -> Path:
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(repo.bare), str(clone))
    git(clone, "config", "user.name", "Ann Reviewer")
    git(clone, "config", "user.email", "ann@example.com")
    return clone


def test_update_branch_does_not_block_but_a_person_s_commit_does(tmp_path) -> None:
    repo = Repo(tmp_path)
    store, forge = memory_world(tmp_path), MemoryForge()
    promote(repo.settings, store, forge, PromoteRequest())
    other = _clone(repo, tmp_path, "other")
    (other / "NOTES.md").write_text("a fix on main\n")
    commit_all(other, "A fix on main")
    git(other, "push", "-q", "origin", "main")
    # GitHub's "Update branch": a merge of the base into the promotion branch.
    git(other, "checkout", "-q", "-b", "update", "origin/promote/train")
    git(other, "merge", "-q", "--no-edit", "main")
    git(other, "push", "-q", "origin", "update:promote/train")
    assert promote(repo.settings, store, forge, PromoteRequest()).decision is Outcome.UNCHANGED
    better = memory_run(3, val_acc=0.99)
    store.runs.append(better)
    add_run_files(store, better)
    updated = promote(repo.settings, store, forge, PromoteRequest())
    assert updated.decision is Outcome.UPDATED
    assert git(repo.bare, "show", "promote/train:NOTES.md") == "a fix on main\n"
    # A person's own commit on the branch is another matter.
    git(other, "fetch", "-q", "origin")
    git(other, "checkout", "-q", "-B", "tweak", "origin/promote/train")
    (other / "tweak.txt").write_text("mine\n")
    commit_all(other, "My tweak")
    git(other, "push", "-q", "origin", "tweak:promote/train")
    best = memory_run(4, val_acc=0.995)
    store.runs.append(best)
    add_run_files(store, best)
    refused = promote(repo.settings, store, forge, PromoteRequest())
    assert refused.decision is Outcome.REFUSED
    assert "(Ann Reviewer: My tweak)" in refused.summary
    on_pr = f"comment `/promote recreate` on pull request #{updated.pr_number}"
    assert on_pr in refused.summary
    assert forge.comments[-1].body == refused.summary
    # The next nightly meets the same refusal: it is not said on the PR again.
    said = len(forge.comments)
    again = promote(repo.settings, store, forge, PromoteRequest())
    assert (again.decision, again.summary) == (Outcome.REFUSED, refused.summary)
    assert len(forge.comments) == said
    recreated = promote(repo.settings, store, forge, PromoteRequest(recreate=True))
    assert recreated.decision is Outcome.UPDATED and recreated.run_id == best.id
    assert "tweak.txt" not in git(repo.bare, "ls-tree", "--name-only", "promote/train")


def test_an_unchanged_run_puts_back_labels_and_people(tmp_path, fake_github) -> None:
    from promoter.forges.registry import ForgeTarget, make_forge

    repo = Repo(tmp_path, PLAIN_CONFIG + "pr:\n  labels: [model-promotion, ml]\n")
    fake_github.state.add_repo("acme/m", bare=repo.bare)
    fake_github.state.set_permission("acme/m", "octocat", "admin")
    fake_github.state.set_permission("acme/m", "reviewer-1", "write")
    forge = make_forge(
        ForgeTarget("github", repository="acme/m", token="t", api_url=fake_github.url, pacing=0)
    )
    store = memory_world(tmp_path)
    first = promote(repo.settings, store, forge, PromoteRequest())
    issue = fake_github.state.repo("acme/m").issues[first.pr_number or 0]
    issue.labels.clear()  # as if the first run was killed before labelling
    again = promote(repo.settings, store, forge, PromoteRequest())
    assert again.decision is Outcome.UNCHANGED
    assert sorted(issue.labels) == ["ml", "model-promotion"]
    found = find_promotion(forge, "promote/train")
    assert found is not None and set(found.labels) == {"ml", "model-promotion"}
    assert found.state is PullState.OPEN


def test_worktrees_of_dead_promoters_are_removed_and_live_ones_kept(tmp_path) -> None:
    repo = Repo(tmp_path)
    git_ = Git(repo.work)
    root = worktrees_root(git_)
    root.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name, owner in (
        ("1111aaaa-1", f"{dead.stdout.strip()} 1"),
        ("2222bbbb-2", process_identity()),
    ):
        git(repo.work, "worktree", "add", "-q", "--detach", str(root / name), "main")
        (root / f"{name}.owner").write_text(owner)
    promote(repo.settings, memory_world(tmp_path), MemoryForge(), PromoteRequest())
    assert sorted(p.name for p in root.iterdir()) == ["2222bbbb-2", "2222bbbb-2.owner"]
    assert "1111aaaa-1" not in git(repo.work, "worktree", "list")


def test_two_promotions_at_once_end_with_one_pr(tmp_path, guild_world) -> None:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    from tests.promotion import make_promotion_repo

    promo = make_promotion_repo(tmp_path)
    forge = tmp_path / "forge"
    command = [
        *(sys.executable, "-m", "promoter", "promote", "--json"),
        *("--project", str(promo.work), "--guild-home", str(guild_world.home)),
        *("--forge-dir", str(forge)),
    ]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    procs = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    decisions = sorted(__import__("json").loads(out)["decision"] for out, _ in outputs)
    assert decisions == ["promoted", "unchanged"]
    assert sorted(p.name for p in forge.glob("pull-*.json")) == ["pull-1.json"]


def test_a_pr_the_base_moved_under_is_rebuilt_not_left_unmergeable(tmp_path) -> None:
    """Another change on the base touches what the promotion wrote (another track's model
    merged into the same place, say): the same run is built on the moved base again."""
    repo = Repo(tmp_path)
    store, forge = memory_world(tmp_path), MemoryForge()
    first = promote(repo.settings, store, forge, PromoteRequest())
    assert first.decision is Outcome.PROMOTED
    other = _clone(repo, tmp_path, "other")
    (other / "models").mkdir()
    (other / "models" / "model.pkl").write_text("a model merged meanwhile\n")
    commit_all(other, "Another model")
    git(other, "push", "-q", "origin", "main")
    moved = git(repo.bare, "rev-parse", "main").strip()
    assert Git(repo.bare).merged_tree("main", "promote/train") is None  # GitHub: "conflicts"

    again = promote(repo.settings, store, forge, PromoteRequest())
    assert (again.decision, again.run_id) == (Outcome.UPDATED, first.run_id)
    assert again.pr_number == first.pr_number and len(forge.pulls("promote/train")) == 1
    assert Git(repo.bare).merged_tree("main", "promote/train") is not None
    assert Git(repo.bare).is_ancestor(moved, "promote/train")
    # Built once on the base, it is left alone.
    assert promote(repo.settings, store, forge, PromoteRequest()).decision is Outcome.UNCHANGED
