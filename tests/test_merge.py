"""`promoter merge` on real Guild runs and a real git working tree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from promoter.cli import main
from tests.guildrun import guild_env, guild_exe

pytestmark = pytest.mark.slow


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@pytest.fixture
def checkout(guild_world, tmp_path):
    """A fresh clone of the runs' project, with a merge config."""
    dest = tmp_path / "checkout"
    _git(tmp_path, "clone", "-q", str(guild_world.project), str(dest))
    (dest / ".promoter.yml").write_text(
        "select: {objective: max val_acc}\n"
        "merge:\n"
        "  flags_file: params.yml\n"
        "  artifacts: [{from: model.pkl, to: models/model.pkl}]\n"
    )
    _git(dest, "add", ".promoter.yml")
    _git(dest, "commit", "-q", "-m", "config")
    return dest


def _merge(checkout: Path, home: Path, *args: str) -> int:
    return main(["merge", "--project", str(checkout), "--guild-home", str(home), *args])


def test_merge_copies_source_flags_and_mapped_artifacts(guild_world, checkout, capsys):
    run_id = guild_world["best"]
    run_dir = guild_world.home / "runs" / run_id
    assert _merge(checkout, guild_world.home, run_id[:8]) == 0
    out = capsys.readouterr().out
    assert (checkout / "models/model.pkl").read_bytes() == (run_dir / "model.pkl").read_bytes()
    flags = yaml.safe_load((checkout / "params.yml").read_text())
    assert flags["acc"] == 0.93
    assert flags["lr"] == 0.3
    # A clean run of the checked-out commit brings no source change.
    assert "source: three-way merge of the run's changes since its commit" in out
    assert "0 changed, 0 conflicting" in out
    assert "copied  params.yml" in out
    status = _git(checkout, "status", "--porcelain")
    assert "params.yml" in status
    assert "train.py" not in status


def test_preview_changes_nothing_and_lists_what_would_be_copied(guild_world, checkout, capsys):
    before = _git(checkout, "status", "--porcelain", "--ignored")
    assert _merge(checkout, guild_world.home, guild_world["best"], "--preview") == 0
    out = capsys.readouterr().out
    assert "would copy  models/model.pkl" in out
    assert _git(checkout, "status", "--porcelain", "--ignored") == before
    assert not (checkout / "models").exists()


def test_uncommitted_changes_are_refused_naming_every_file(guild_world, checkout, capsys):
    """The dirty run changed train.py (an uncommitted edit when it started): that change is
    what the merge brings, and it would clobber the user's own edit."""
    (checkout / "train.py").write_text("# my work in progress\n")
    (checkout / "params.yml").write_text("lr: 5\n")
    assert _merge(checkout, guild_world.home, guild_world["dirty"]) == 1
    err = capsys.readouterr().err
    assert "train.py: has uncommitted changes" in err
    assert "params.yml: is untracked" in err
    assert (checkout / "train.py").read_text() == "# my work in progress\n"
    assert (checkout / "params.yml").read_text() == "lr: 5\n"
    assert not (checkout / "models").exists()

    assert _merge(checkout, guild_world.home, guild_world["dirty"], "--replace") == 0
    assert (checkout / "train.py").read_text().endswith("# an uncommitted edit\n")


def test_a_fix_made_after_the_run_is_kept_and_the_run_s_edit_arrives(guild_world, checkout, capsys):
    """The base moved on (a fix to another part of train.py) since the dirty run started:
    the merge keeps the fix and adds the run's own edit."""
    original = (checkout / "train.py").read_text()
    (checkout / "train.py").write_text("# a fix merged after the run\n" + original)
    _git(checkout, "commit", "-q", "-am", "a fix")
    assert _merge(checkout, guild_world.home, guild_world["dirty"]) == 0
    merged = (checkout / "train.py").read_text()
    assert merged.startswith("# a fix merged after the run\n")
    assert merged.endswith("# an uncommitted edit\n")
    assert "1 changed, 0 conflicting" in capsys.readouterr().out


def test_a_run_file_that_is_a_symlink_to_outside_is_refused(
    guild_world, checkout, tmp_path, capsys
):
    home = tmp_path / "home"
    run_dir = home / "runs" / guild_world["best"]
    shutil.copytree(guild_world.home / "runs" / guild_world["best"], run_dir, symlinks=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the project")
    (run_dir / "model.pkl").unlink()
    (run_dir / "model.pkl").symlink_to(secret)
    assert _merge(checkout, home, guild_world["best"]) == 1
    assert "model.pkl: the run file is a symlink" in capsys.readouterr().err
    assert not (checkout / "models" / "model.pkl").exists()
    assert not (checkout / "params.yml").exists()


def test_source_files_match_guild_merge_preview(guild_world, tmp_path, capsys):
    """Where Guild's semantics apply (the run's commit is not in this repository, so the
    snapshot is copied), our source files are exactly the ones `guild api merge --preview`
    lists."""
    if guild_exe() is None:
        pytest.skip("guild is not installed")
    target = tmp_path / "target"
    shutil.copytree(guild_world.project, target, ignore=shutil.ignore_patterns(".git"))
    _git(target, "init", "-q", "-b", "main")
    _git(target, "add", ".")
    _git(target, "commit", "-q", "-m", "the project, without the runs' history")
    (target / "train.py").write_text("# changed and committed\n")
    _git(target, "commit", "-q", "-am", "change train.py")
    run_id = guild_world["best"]
    done = subprocess.run(
        [guild_exe(), "api", "merge", run_id, "--preview", "--target-dir", str(target)],
        cwd=target,
        env=guild_env(guild_world.home),
        capture_output=True,
        text=True,
        check=True,
    )
    preview = json.loads(done.stdout)
    assert preview["resp"] == "preview"
    guild_copy = {f["targetPath"] for f in preview["toCopy"] if f["fileType"] == "s"}
    guild_same = {f["targetPath"] for f in preview["toSkip"] if f["fileType"] == "s"}
    assert guild_copy == {"train.py"}

    capsys.readouterr()
    assert _merge(target, guild_world.home, run_id, "--preview") == 0
    out = capsys.readouterr().out
    ours_copy = {line.split()[2] for line in out.splitlines() if "[source]" in line}
    ours_same = {
        line.split()[1].rstrip(":") for line in out.splitlines() if line.endswith("identical")
    }
    assert ours_copy == guild_copy
    assert ours_same == guild_same
    assert (target / "train.py").read_text() == "# changed and committed\n"


def test_an_ignored_target_such_as_a_dvc_managed_model_needs_replace(guild_world, checkout, capsys):
    (checkout / ".gitignore").write_text("/models/\n")
    _git(checkout, "add", ".gitignore")
    _git(checkout, "commit", "-q", "-m", "models are DVC's")
    (checkout / "models").mkdir()
    (checkout / "models" / "model.pkl").write_bytes(b"the model in production")
    assert _merge(checkout, guild_world.home, guild_world["best"]) == 1
    err = capsys.readouterr().err
    assert "models/model.pkl: is ignored by git (not source); use --replace" in err
    assert (checkout / "models" / "model.pkl").read_bytes() == b"the model in production"
    assert _merge(checkout, guild_world.home, guild_world["best"], "--replace") == 0
    assert (checkout / "models" / "model.pkl").read_bytes() != b"the model in production"
