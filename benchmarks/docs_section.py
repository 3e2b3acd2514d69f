"""What every benchmark shares: the machine it ran on, and its section of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine(work_dir: Path | None = None) -> str:
    """CPU model, cores, memory, kernel and Python of this machine (and the file system
    holding ``work_dir``, when given)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    text = (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM; Linux {platform.release()}; "
        f"Python {platform.python_version()}"
    )
    if work_dir is not None:
        found = subprocess.run(
            ["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", str(work_dir)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if found:
            text += f"; work directory on {' '.join(found)}"
    return text


def update_section(name: str, section: str) -> None:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->`` (or append
    it); ``section`` includes both markers."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)
