"""Faults for the promoter process itself.

:class:`Toolbox` is a virtualenv layout whose ``bin/`` holds the interpreter (a symlink to the
base Python, with ``pyvenv.cfg`` and ``lib`` borrowed from the dev ``.venv``) and wrapper
executables ``dvc`` and ``git``. promoter runs the ``dvc`` beside its Python, and ``git`` from
``PATH``, so with this ``bin/`` first on ``PATH`` both are the wrappers: no test hook in
promoter. Each wrapper runs the real tool, logs the call, and when armed SIGKILLs its process
group (promoter and everything it started) right after the Nth successful call of one verb:
the step is done, promoter never hears of it. :mod:`tests.faultworld` runs promoter through it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.repos import dvc_exe

_WRAPPER = '''\
#!{python} -IS
"""Test wrapper: runs {real}, logs the call, and may SIGKILL the caller's process group."""
import json, os, signal, subprocess, sys

def verb(args):
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in ("-c", "-C", "--git-dir", "--work-tree", "--namespace", "--cd"):
            skip = True
        elif not arg.startswith("-"):
            # "worktree add", "remote get-url": the subcommand is the step.
            if arg in ("worktree", "remote") and i + 1 < len(args):
                return arg + "-" + args[i + 1]
            return arg
    return "-"

args = sys.argv[1:]
name = verb(args)
code = subprocess.call([{real!r}, *args])
with open({log!r}, "a") as log:
    log.write(f"{tool} {{name}} {{code}}\\n")
try:
    with open({control!r}) as f:
        rule = json.load(f)
except FileNotFoundError:
    rule = None
if rule and code == 0 and rule["tool"] == {tool!r} and rule["verb"] == name:
    with open({log!r}) as log:
        done = sum(1 for line in log if line.split() == [{tool!r}, name, "0"])
    if done == rule["nth"]:
        os.killpg(os.getpgid(0), signal.SIGKILL)
sys.exit(code)
'''


@dataclass(frozen=True)
class KillAt:
    """Kill promoter right after the ``nth`` successful ``tool verb`` call (``verb`` is the
    subcommand, ``worktree-add`` for two-word ones)."""

    tool: str
    verb: str
    nth: int = 1

    def __str__(self) -> str:
        return f"after {self.tool} {self.verb}" + (f" #{self.nth}" if self.nth > 1 else "")


class Toolbox:
    """A virtualenv layout whose ``dvc`` and ``git`` are fault-injecting wrappers."""

    def __init__(self, root: Path) -> None:
        real_dvc = dvc_exe()
        real_git = shutil.which("git")
        assert real_dvc and real_git, "dvc and git are needed"
        venv = Path(sys.prefix)
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir(parents=True)
        self.control = root / "kill.json"
        self.log = root / "calls.log"
        base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
        (root / "pyvenv.cfg").write_text((venv / "pyvenv.cfg").read_text())
        (root / "lib").symlink_to(venv / "lib", target_is_directory=True)
        self.python = self.bin / "python"
        self.python.symlink_to(base)
        for tool, real in (("dvc", real_dvc), ("git", real_git)):
            wrapper = self.bin / tool
            wrapper.write_text(
                _WRAPPER.format(
                    python=base, real=real, tool=tool, log=str(self.log), control=str(self.control)
                )
            )
            wrapper.chmod(0o755)

    def arm(self, kill: KillAt | None) -> None:
        """Kill at ``kill`` on the next job (``None``: no kill); the call log starts afresh."""
        self.log.unlink(missing_ok=True)
        if kill is None:
            self.control.unlink(missing_ok=True)
        else:
            self.control.write_text(
                json.dumps({"tool": kill.tool, "verb": kill.verb, "nth": kill.nth})
            )

    def calls(self) -> list[str]:
        """``tool verb`` of every call since the last :meth:`arm`, in order."""
        if not self.log.exists():
            return []
        return [" ".join(line.split()[:2]) for line in self.log.read_text().splitlines()]

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        """The inherited environment with the wrappers first on ``PATH``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
        env.pop("VIRTUAL_ENV", None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["DVC_NO_ANALYTICS"] = "1"
        return env | extra


@dataclass
class Job:
    """One promoter process: exit code (negative: killed by that signal), outputs, logs."""

    code: int
    outputs: dict[str, str]
    stdout: str
    stderr: str
    summary: str = ""
    calls: list[str] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL

    @property
    def annotations(self) -> list[str]:
        """The workflow commands that become annotations (``::error``, ``::warning``)."""
        return [
            line for line in self.stdout.splitlines() if line.startswith(("::error", "::warning"))
        ]
