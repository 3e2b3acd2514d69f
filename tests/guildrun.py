"""Make real Guild runs with ``guild run`` for tests, benchmarks and the demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT_TEMPLATE = Path(__file__).parent / "data" / "guild_project"


def guild_exe() -> str | None:
    """The ``guild`` command beside this Python, or on PATH; ``None`` when Guild is absent."""
    beside = Path(sys.executable).parent / "guild"
    if beside.exists():
        return str(beside)
    return shutil.which("guild")


def guild_env(home: Path) -> dict[str, str]:
    """An environment for ``guild`` with its home set explicitly (never ~/.guild)."""
    env = dict(os.environ)
    env["GUILD_HOME"] = str(home)
    env["NO_WARN_RUNDIR"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


def make_project(dest: Path) -> Path:
    """Copy the test Guild project into ``dest``."""
    shutil.copytree(PROJECT_TEMPLATE, dest, dirs_exist_ok=True)
    return dest


def _run_ids(home: Path) -> set[str]:
    runs = home / "runs"
    return set(os.listdir(runs)) if runs.is_dir() else set()


def guild(project: Path, home: Path, *args: str, check: bool = True) -> str:
    """Run a ``guild`` command in ``project``; returns its output."""
    exe = guild_exe()
    assert exe, "guild is not installed"
    proc = subprocess.run(
        [exe, *args],
        cwd=project,
        env=guild_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"guild {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def guild_run(
    project: Path,
    home: Path,
    op: str = "train",
    *flags: str,
    label: str | None = None,
    tags: tuple[str, ...] = (),
    stage: bool = False,
) -> str:
    """Run an operation to its end (or stage it) and return the new run's id."""
    before = _run_ids(home)
    args = ["run", op, *flags, "-y"]
    if label is not None:
        args += ["--label", label]
    for tag in tags:
        args += ["--tag", tag]
    if stage:
        args.append("--stage")
    guild(project, home, *args, check=False)
    (new,) = _run_ids(home) - before
    return new


def start_run(project: Path, home: Path, *flags: str) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a long run in the background and return once it is running."""
    exe = guild_exe()
    assert exe, "guild is not installed"
    before = _run_ids(home)
    proc = subprocess.Popen(
        [exe, "run", "train", *flags, "-y"],
        cwd=project,
        env=guild_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = _run_ids(home) - before
        if new:
            run_id = new.pop()
            guild_dir = home / "runs" / run_id / ".guild"
            if (guild_dir / "LOCK").exists() and any(
                ".tfevents." in n for n in os.listdir(guild_dir)
            ):
                return run_id, proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the background run did not start")
