"""Which process owns a scratch worktree or the promotion lock, and whether it still runs.

A process is named by its pid and its start time (Linux: ``/proc/<pid>/stat``), so a pid
that the system gave to another process since is not taken for the owner.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from promoter.errors import PromoterError

log = logging.getLogger("promoter")

LOCK_WAIT_SECONDS = 900.0
BUSY = (
    "another promoter (pid {pid}) has been promoting in this repository for {waited:.0f} s; "
    "giving up (its lock: {path})"
)


def process_identity(pid: int | None = None) -> str:
    """``"<pid> <start time>"`` for a process (this one by default); the start time is empty
    where the system does not tell it."""
    pid = os.getpid() if pid is None else pid
    return f"{pid} {_start_time(pid) or ''}".strip()


def is_running(identity: str) -> bool:
    """Whether the process an identity names still runs (and is that same process)."""
    parts = identity.split()
    if not parts or not parts[0].isdigit():
        return False
    pid = int(parts[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user
    recorded = parts[1] if len(parts) > 1 else None
    now = _start_time(pid)
    return recorded is None or now is None or recorded == now


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


@contextlib.contextmanager
def exclusive(path: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made if missing) for this process; wait for another
    holder up to ``wait`` seconds. The kernel drops the lock when its process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    try:
        logged = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = path.read_text(encoding="ascii", errors="replace").strip() or "?"
                waited = time.monotonic() - started
                if waited > wait:
                    pid = holder.split()[0] if holder.split() else "?"
                    raise PromoterError(BUSY.format(pid=pid, waited=waited, path=path)) from None
                if not logged:
                    log.info("waiting for another promotion in this repository (%s)", holder)
                    logged = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, process_identity().encode())
        yield
    finally:
        os.close(fd)
