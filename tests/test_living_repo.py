"""A repository that keeps living: promotions one after another with commits on the base in
between, runs started from uncommitted edits, conflicts, and runs whose commit never reached
the remote. Real ``guild run`` runs made in the repository at each point, real git, real DVC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from promoter.cli import main
from tests.guildrun import PROJECT_TEMPLATE, guild_exe, guild_run
from tests.repos import (
    IDENTITY,
    commit_all,
    dvc_exe,
    git,
    make_dvc_remote,
    make_repo_with_bare_remote,
)

pytestmark = pytest.mark.slow

CONFIG = """\
source: {operation: train}
select:
  objective: max val_acc
merge:
  flags_file: params.yml
  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]
"""


class Living:
    """The team's repository (bare remote, DVC remote) and a checkout where runs are made and
    promotions start; each promotion PR is merged by moving ``main`` to its branch."""

    def __init__(self, tmp_path: Path) -> None:
        if guild_exe() is None or dvc_exe() is None:
            pytest.skip("guild and dvc are needed")
        self.tmp = tmp_path
        self.work, self.bare = make_repo_with_bare_remote(tmp_path)
        for name in ("guild.yml", "train.py"):
            shutil.copy(PROJECT_TEMPLATE / name, self.work / name)
        (self.work / ".promoter.yml").write_text(CONFIG)
        make_dvc_remote(self.work, tmp_path / "dvc-remote")
        self.commit("the project")
        self.home = tmp_path / "guild-home"
        self.home.mkdir()
        self.forge = tmp_path / "forge"

    def commit(self, message: str) -> str:
        sha = commit_all(self.work, message)
        git(self.work, "push", "-q", "origin", "main")
        return sha

    def edit(self, path: str, change) -> None:  # type: ignore[no-untyped-def]
        file = self.work / path
        file.write_text(change(file.read_text()))

    def run(self, acc: float) -> str:
        return guild_run(self.work, self.home, "train", f"acc={acc}")

    def merge_pr(self) -> None:
        """What merging the promotion PR does: main becomes the branch's commit, and the PR
        is closed as merged (in the local forge's files)."""
        git(self.bare, "update-ref", "refs/heads/main", "refs/heads/promote/train")
        git(self.work, "pull", "-q", "--ff-only", "origin", "main")
        for path in self.forge.glob("pull-*.json"):
            data = json.loads(path.read_text())
            if data["state"] == "open":
                data.update(state="closed", merged=True)
                path.write_text(json.dumps(data))

    def show(self, path: str, ref: str = "promote/train") -> str:
        return git(self.bare, "show", f"{ref}:{path}")


def _promote(living: Living, capsys, *args: str) -> dict:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    code = main(
        [
            *("promote", "--project", str(living.work), "--guild-home", str(living.home)),
            *("--forge-dir", str(living.forge), "--json", *args),
        ]
    )
    assert code == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_three_promotions_on_a_base_that_moves_in_between(tmp_path, capsys) -> None:
    living = Living(tmp_path)
    first = living.run(0.80)
    assert _promote(living, capsys)["decision"] == "promoted"
    living.merge_pr()
    assert yaml.safe_load(living.show("params.yml", "main"))["acc"] == 0.8

    # The team fixes the training script and tightens the config; the flags file from the
    # first promotion is on main now, so every later run's snapshot holds it.
    living.edit("train.py", lambda text: "# fix 1: a bug fixed on main\n" + text)
    living.edit(".promoter.yml", lambda text: text + "pr:\n  labels: [model, reviewed]\n")
    living.commit("fix 1 and labels")
    second = living.run(0.85)
    result = _promote(living, capsys)
    assert result["decision"] == "promoted", result
    assert result["run_id"] == second
    assert living.show("train.py").startswith("# fix 1")
    assert yaml.safe_load(living.show("params.yml"))["acc"] == 0.85
    living.merge_pr()

    # The base moves on after the third run started: a second fix, a new file, a config edit.
    third = living.run(0.90)
    living.edit("train.py", lambda text: text + "# fix 2: after the run started\n")
    (living.work / "NOTES.md").write_text("a new file on main\n")
    living.edit(".promoter.yml", lambda text: text.replace("reviewed", "audited"))
    living.commit("fix 2, notes, config")
    result = _promote(living, capsys)
    assert result["decision"] == "promoted" and result["run_id"] == third
    train = living.show("train.py")
    assert train.startswith("# fix 1") and train.endswith("# fix 2: after the run started\n")
    assert living.show("NOTES.md") == "a new file on main\n"
    assert "audited" in living.show(".promoter.yml"), "the config the team edited is kept"
    assert yaml.safe_load(living.show("params.yml"))["acc"] == 0.9
    record = yaml.safe_load(living.show(f".promoter/promotions/{third}/record.yaml"))
    assert record["source_merge"]["mode"] == "three-way"
    assert record["source_merge"]["replaced"] == []
    assert first != second != third


def test_a_run_s_uncommitted_edit_arrives_and_the_base_s_later_change_stays(
    tmp_path, capsys
) -> None:
    living = Living(tmp_path)
    original = (living.work / "train.py").read_text()
    living.edit("train.py", lambda text: text + "# tuned while experimenting\n")
    dirty = living.run(0.9)
    (living.work / "train.py").write_text(original)
    living.edit("train.py", lambda text: "# a fix merged meanwhile\n" + text)
    living.commit("a fix")
    result = _promote(living, capsys)
    assert result["decision"] == "promoted" and result["run_id"] == dirty
    train = living.show("train.py")
    assert train.startswith("# a fix merged meanwhile\n")
    assert train.endswith("# tuned while experimenting\n")
    body = (living.forge / "pull-1.md").read_text()
    assert "the run's changes merged with" in body and "1 file changed" in body


def test_a_conflict_stops_with_the_files_named_and_nothing_pushed(tmp_path, capsys) -> None:
    living = Living(tmp_path)
    original = (living.work / "train.py").read_text()
    living.edit("train.py", lambda text: text.replace("epochs = 3", "epochs = 5"))
    living.run(0.9)
    (living.work / "train.py").write_text(original)
    living.edit("train.py", lambda text: text.replace("epochs = 3", "epochs = 4"))
    living.commit("four epochs")
    result = _promote(living, capsys)
    assert result["decision"] == "conflict"
    assert result["conflicts"] == ["train.py"]
    assert "train.py" in result["summary"] and "merge.on_conflict: run" in result["summary"]
    assert git(living.bare, "branch", "--list", "promote/train") == ""
    assert not any(p.is_file() for p in (tmp_path / "dvc-remote").rglob("*"))
    assert not living.forge.exists() or not list(living.forge.glob("pull-*.json"))

    # Told to take the run's version, the promotion goes ahead and says so.
    living.edit(".promoter.yml", lambda text: text + "  on_conflict: run\n")
    living.commit("take the run's side")
    result = _promote(living, capsys)
    assert result["decision"] == "promoted"
    assert "epochs = 5" in living.show("train.py")
    body = (living.forge / "pull-1.md").read_text()
    assert "Conflicts resolved with the run" in body and "train.py" in body


def test_a_run_whose_commit_never_reached_the_remote_is_copied_and_says_what_it_replaces(
    tmp_path, capsys
) -> None:
    living = Living(tmp_path)
    # The experimenter commits on a local branch and trains there, never pushing it.
    git(living.work, "checkout", "-q", "-b", "experiment")
    living.edit("train.py", lambda text: text + "# experiment\n")
    commit_all(living.work, "experiment, not pushed")
    run = living.run(0.9)
    git(living.work, "checkout", "-q", "main")
    # CI promotes from a fresh clone, which has never seen that commit.
    ci = tmp_path / "ci"
    git(tmp_path, "clone", "-q", str(living.bare), str(ci))
    for key, value in IDENTITY.items():
        git(ci, "config", key, value)
    living.work, original_work = ci, living.work
    living.edit("train.py", lambda text: text.replace("import sys", "import sys  # main's"))
    living.commit("main changed train.py")
    result = _promote(living, capsys)
    assert result["decision"] == "promoted" and result["run_id"] == run
    record = yaml.safe_load(living.show(f".promoter/promotions/{run}/record.yaml"))
    assert record["source_merge"]["mode"] == "copy"
    assert "not in the remote" in record["source_merge"]["reason"]
    assert "train.py" in record["source_merge"]["replaced"]
    body = (living.forge / "pull-1.md").read_text()
    assert "The run's source was copied, not merged" in body and "`train.py`" in body
    assert original_work.is_dir()
