"""A hostile corpus of paths, next to the one for text in ``test_render.py``: what a run's
files may be called (and where its manifest may say they go), and what a promotion makes of
each. Every path is refused or skipped before the first side effect (``dvc push``), unless it
is an ordinary file that only looks like a special one.

The table is checked on the merge plan (pure, every path), then end to end in three
promotions with real git and DVC: one run holding every refused path, one holding symlinks,
and one holding every harmless and skipped path.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from promoter.config import MergeConfig
from promoter.core.models import Run, RunFile, RunFiles
from promoter.promotion.merge.apply import MergeRefused
from promoter.promotion.merge.plan import check_targets, plan_merge
from promoter.promotion.outcome import Outcome
from promoter.promotion.promote import PromoteRequest, promote
from promoter.settings import resolve_settings
from promoter.tools.git import Git
from promoter.tools.worktree import worktrees_root
from tests.memory import MemoryForge, MemoryStore, memory_world
from tests.repos import commit_all, dvc_exe, git, make_dvc_remote, make_repo_with_bare_remote

LONG_NAME = "n" * 256 + ".py"
LONG_PATH = "d/" * 520 + "x.py"

# project path -> its fate when the base has no such file
REFUSED = [
    # forge automation, at any depth, in any case
    ".github/workflows/evil.yml",
    ".GITHUB/Workflows/evil.yml",
    "deep/er/.github/workflows/x.yml",
    ".github/CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab-ci.yml",
    "sub/.gitlab-ci.yml",
    ".gitlab/ci/jobs.yml",
    ".circleci/config.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    ".promoter.yml",
    # files git reads, and their NTFS spellings (trailing dot or space, stream, 8.3 names)
    ".gitmodules",
    ".GitModules",
    "lib/.gitattributes",
    ".gitattributes.",
    ".gitignore ",
    ".gitmodules::$DATA",
    "GITMOD~1",
    "gi7eba~3",
    "GITATT~2",
    "gi250a~1",
    # .git itself: any case, NTFS (trailing dots and spaces, streams, 8.3), HFS+ ignorables
    ".GIT/config",
    ".git/hooks/post-checkout",
    "a/.Git/config",
    ".git./config",
    ".git . ./config",
    "GIT~1/config",
    "git~1/hooks/pre-commit",
    ".git::$INDEX_ALLOCATION/config",
    ".git:x/config",
    ".g\u200cit/config",
    "\ufeff.git/hooks/pre-push",
    # lookalikes that case-insensitive file systems fold into .github (dotless i, long s)
    ".g\u0131thub/workflows/x.yml",
    ".gitattribute\u017f",
    # HFS+ drops these code points: .github on a Mac
    ".gith\u200dub/workflows/x.yml",
    # no checkout can hold these
    LONG_NAME,
    LONG_PATH,
]
# where the run's manifest says a file goes: outside the project
ESCAPES = [
    "../outside.py",
    "a/../../escape.py",
    "/etc/cron.d/evil",
    "..\\windows.py",
    "C:/x.py",
    "nul\x00byte.py",
]
SKIPPED = [".dvc/config", "sub/.DVC/config.local", ".promoter/champion.yaml", ".guild/attrs/flags"]
# ordinary files that only look special: no forge, git or file system takes them for one
HARMLESS = [
    "github/workflows/x.yml",
    ".g\u0456thub/workflows/x.yml",  # Cyrillic i
    "\uff0egithub/workflows/x.yml",  # fullwidth full stop
    "src/git.py",
    "my.gitignore.txt",
    "gitmod~5",
    "train:loss.csv",
    "line\nbreak.py",
    "--force.py",
    ":(glob)*.py",
    "*.py",
    "na\u00efve/\u00fcn\u00efc\u00f6d\u00e9.py",
]
CORPUS = {
    **dict.fromkeys(REFUSED, "refused"),
    **dict.fromkeys(ESCAPES, "refused"),
    **dict.fromkeys(SKIPPED, "skipped"),
    **dict.fromkeys(HARMLESS, "copied"),
}
CONTENT = b"on: push\njobs: {steal: {runs-on: ubuntu-latest, steps: [{run: env}]}}\n"
CONFIG = """\
select:
  objective: max val_acc
merge:
  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]
"""


@pytest.mark.parametrize(("path", "fate"), sorted(CORPUS.items()), ids=ascii)
def test_the_plan_refuses_or_skips_every_hostile_path(path: str, fate: str) -> None:
    files = RunFiles(source=(RunFile("f.py", "source", path),), dependencies=(), generated=())
    plan = check_targets(plan_merge(files, MergeConfig()), {})
    outcome = {
        "refused": [r.path for r in plan.refusals],
        "skipped": [s.project_path for s in plan.skips],
        "copied": [c.project_path for c in plan.copies],
    }
    assert len(outcome[fate]) == 1, outcome
    for other in set(outcome) - {fate}:
        assert outcome[other] == []


@dataclass
class LinkingStore(MemoryStore):
    """The memory store, with run files that are symlinks: ``links`` maps a run path (a file or
    a directory) to the link's target."""

    links: dict[str, str] = field(default_factory=dict)

    def materialize(self, run: Run, paths: Collection[str]) -> Path:
        linked = [p for p in paths if any(_under(p, link) for link in self.links)]
        root = super().materialize(run, [p for p in paths if p not in linked])
        for link, target in self.links.items():
            if any(_under(p, link) for p in linked):
                (root / link).parent.mkdir(parents=True, exist_ok=True)
                (root / link).symlink_to(target)
        return root


def _under(path: str, link: str) -> bool:
    return path == link or path.startswith(link + "/")


class Project:
    """A repository with a bare remote and a DVC remote; a ``lib/`` directory and README."""

    def __init__(self, tmp: Path) -> None:
        self.work, self.bare = make_repo_with_bare_remote(tmp)
        (self.work / ".promoter.yml").write_text(CONFIG)
        (self.work / "lib").mkdir()
        (self.work / "lib" / "a.py").write_text("a = 1\n")
        self.dvc_remote = tmp / "dvc-remote"
        make_dvc_remote(self.work, self.dvc_remote)
        commit_all(self.work, "project")
        git(self.work, "push", "-q", "origin", "main")
        self.settings = resolve_settings(self.work, env={})
        self.before = self.state()

    def state(self) -> tuple[str, ...]:
        return (
            git(self.work, "rev-parse", "HEAD"),
            git(self.work, "status", "--porcelain", "--untracked-files=all"),
            git(self.bare, "for-each-ref"),
        )

    def untouched(self) -> list[str]:
        """What changed although nothing should have: empty when nothing did."""
        changed = []
        if any(p.is_file() for p in self.dvc_remote.rglob("*")):
            changed.append("the DVC remote holds data")
        if self.state() != self.before:
            changed.append("the checkout or the remote's branches changed")
        root = worktrees_root(Git(self.work))
        if root.exists() and any(root.iterdir()):
            changed.append("a worktree is left")
        return changed


@pytest.fixture
def project(tmp_path) -> Project:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    return Project(tmp_path)


def _plant(store: MemoryStore, paths: dict[str, str]) -> None:
    """Give the winning run source files: run path -> project path."""
    run = store.runs[-1]
    for index, (run_path, project_path) in enumerate(paths.items()):
        store.files[run.id][run_path] = CONTENT + str(index).encode()
        store.sources[run.id][run_path] = project_path


@pytest.mark.slow
def test_a_run_holding_every_refused_path_stops_before_any_side_effect(
    project, tmp_path, ledger
) -> None:
    entry = ledger("automation")
    store = memory_world(tmp_path)
    hostile = REFUSED + ESCAPES + ["lib", "README.md/x.py"]  # a directory, and under a file
    _plant(store, {f"src/{i}": path for i, path in enumerate(hostile)})
    forge = MemoryForge()
    with pytest.raises(MergeRefused) as refused:
        promote(project.settings, store, forge, PromoteRequest())
    for _ in hostile:
        entry.case()
    changed = project.untouched()
    entry.measured(lost=len(changed))
    assert sorted(r.path for r in refused.value.refusals) == sorted(hostile)
    assert changed == [] and forge.pulls_ == []
    message = str(refused.value)
    assert message.count("\n") == len(hostile), "one line per problem"


@pytest.mark.slow
def test_a_run_whose_files_are_symlinks_stops_before_any_side_effect(
    project, tmp_path, ledger
) -> None:
    entry = ledger("automation")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.py").write_text("stolen\n")
    links = {
        "to-outside.py": "/etc/hostname",
        "to-git.py": str(project.work / ".git" / "config"),
        "relative-escape.py": "../../../../../../../../etc/hostname",
        "inside.py": "train.py",
        "linked-dir": str(outside),
    }
    base = memory_world(tmp_path)
    store = LinkingStore(
        base.runs, files=base.files, sources=base.sources, scratch=base.scratch, links=links
    )
    sources = {p: p for p in links if p != "linked-dir"} | {"linked-dir/x.py": "linked-dir/x.py"}
    _plant(store, sources)
    forge = MemoryForge()
    with pytest.raises(MergeRefused) as refused:
        promote(project.settings, store, forge, PromoteRequest())
    for _ in sources:
        entry.case()
    changed = project.untouched()
    entry.measured(lost=len(changed))
    assert sorted(r.path for r in refused.value.refusals) == sorted(sources)
    assert {r.reason for r in refused.value.refusals} <= {
        "the run file is a symlink (not copied)",
        "the run file is under a symlink (not copied)",
    }
    assert changed == [] and forge.pulls_ == []


@pytest.mark.slow
def test_harmless_lookalikes_are_copied_and_tool_state_skipped(project, tmp_path, ledger) -> None:
    entry = ledger("automation")
    store = memory_world(tmp_path)
    planted = {f"src/{i}": path for i, path in enumerate(HARMLESS + SKIPPED)}
    _plant(store, planted)
    result = promote(project.settings, store, MemoryForge(), PromoteRequest())
    for _ in planted:
        entry.case()
    assert result.decision is Outcome.PROMOTED
    tree = git(project.bare, "ls-tree", "-r", "-z", "--name-only", "promote/train").split("\0")
    assert set(HARMLESS) <= set(tree)
    for index, path in enumerate(HARMLESS + SKIPPED):
        shown = _show(project.bare, f"promote/train:{path}")
        if path in SKIPPED:
            assert shown is None or not shown.startswith(CONTENT), path
        else:
            assert shown == CONTENT + str(index).encode(), path
    assert os.listdir(worktrees_root(Git(project.work))) == []


def _show(bare: Path, spec: str) -> bytes | None:
    import subprocess

    done = subprocess.run(["git", "cat-file", "blob", spec], cwd=bare, capture_output=True)
    return done.stdout if done.returncode == 0 else None
