"""Real git and dvc repositories for tests, made with the git and dvc command lines.

The helpers call the tools directly rather than promoter's own wrappers, so a bug in those
wrappers cannot hide in the fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

IDENTITY = {"user.name": "Test Author", "user.email": "author@example.com"}


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout; raises CalledProcessError with its output."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, env=_git_env()
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return done.stdout


def make_repo_with_bare_remote(tmp_path: Path) -> tuple[Path, Path]:
    """``tmp_path/work`` on branch ``main`` with one commit (``README.md``), pushed to the bare
    repository ``tmp_path/remote.git``, which is its ``origin``.

    The work repository has its own author identity (``IDENTITY``), so commits work whatever
    the machine's global config says.
    """
    work, bare = tmp_path / "work", tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(work))
    for key, value in IDENTITY.items():
        git(work, "config", key, value)
    (work / "README.md").write_text("# demo\n")
    git(work, "add", "README.md")
    git(work, "commit", "--quiet", "-m", "Initial commit")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "--quiet", "--set-upstream", "origin", "main")
    return work, bare


def commit_all(work: Path, message: str) -> str:
    """Stage everything in ``work``, commit it with ``message`` and return the new sha."""
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(work, "rev-parse", "HEAD").strip()


def dvc_exe() -> str | None:
    """The dvc executable beside this Python (the dev virtualenv), else on PATH, else None."""
    beside = Path(sys.executable).with_name("dvc")
    return str(beside) if beside.is_file() else shutil.which("dvc")


def dvc(cwd: Path, *args: str) -> str:
    """Run dvc in ``cwd`` (analytics off) and return its stdout; raises CalledProcessError."""
    exe = dvc_exe()
    assert exe is not None, "dvc is not installed"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(
        [exe, *args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return done.stdout


def make_dvc_remote(
    work: Path, remote: Path | str, name: str = "storage", default: bool = True
) -> None:
    """Make ``work`` (a git working tree) a dvc project if it is not one, and add ``remote``
    (a local directory, made if missing, or a URL) as remote ``name``, the default if ``default``.

    A directory is recorded by its absolute path, so worktrees and clones of ``work`` anywhere
    reach the same remote; the change to ``.dvc/config`` is left uncommitted.
    """
    if not (work / ".dvc").is_dir():
        dvc(work, "init")
    if isinstance(remote, Path):
        remote.mkdir(parents=True, exist_ok=True)
        remote = str(remote.resolve())
    dvc(work, "remote", "add", *(["--default"] if default else []), name, remote)


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # The machine's global config (hooks, signing, templates) must not change what tests see.
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env
