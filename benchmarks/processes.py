"""Timing separate processes from start to answer, with their own peak RSS: shared by the
select benchmarks."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Timing:
    """Wall times of a command's runs, its peak RSS over them, and its last answer."""

    seconds: list[float]
    peak_mb: float
    answer: str

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def cell(self) -> str:
        """``median (best)``: interference on a shared VM only ever adds time."""
        return f"{self.median:.3f} s ({min(self.seconds):.3f})"

    def add(self, other: Timing) -> None:
        self.seconds += other.seconds
        self.peak_mb = max(self.peak_mb, other.peak_mb)
        self.answer = other.answer


def gnu_time() -> str | None:
    """GNU time, when installed: it reports the measured command's own peak RSS."""
    exe = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if exe is None:
        return None
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return exe if "GNU" in done.stdout + done.stderr else None


def measure(cmd: list[str], env: dict[str, str], repeat: int, cwd: Path) -> Timing:
    """Wall time and peak RSS of ``repeat`` runs of ``cmd``.

    The peak comes from GNU time, a small launcher, when there is one: Python starts a child
    with vfork, and Linux keeps the parent's high-water RSS in the child's ``ru_maxrss``
    across the exec, so ``wait4`` here would report the benchmark's own (large) peak."""
    seconds: list[float] = []
    peak = 0
    answer = ""
    launcher = gnu_time()
    with tempfile.TemporaryDirectory() as scratch:
        rss_file = Path(scratch) / "peak-rss.txt"
        for _ in range(repeat):
            measured = [launcher, "-f", "%M", "-o", str(rss_file), *cmd] if launcher else cmd
            started = time.perf_counter()
            proc = subprocess.Popen(
                measured, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            assert proc.stdout is not None
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            seconds.append(time.perf_counter() - started)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{cmd} failed with {os.waitstatus_to_exitcode(status)}")
            kib = int(rss_file.read_text().split()[-1]) if launcher else usage.ru_maxrss
            peak = max(peak, kib)
            answer = out.decode()
    return Timing(seconds, peak / 1024, answer)
