"""A cache of runs already read, so that listing 10,000 finished runs costs a few stats each.

A finished run (one with an ``exit_status``) changes afterwards only through Guild commands
that edit ``label`` or ``tags``, or by a restart, which deletes ``exit_status``. Its
signature is therefore the stat of the run dir, ``.guild``, ``.guild/attrs`` and those
three attributes: any change there re-reads the run. Runs still running, pending or staged
have no signature and are always read. Guild keeps a similar index (``cache/runs``); this
one lives in the user's cache directory, never inside ``GUILD_HOME``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import tempfile
from pathlib import Path

from promoter import __version__
from promoter.core.models import Run

log = logging.getLogger("promoter")

FORMAT = 2  # 2: batch runs' ops as Guild shows them (iris-svm:train+)
Signature = tuple[object, ...]
Entries = dict[str, tuple[Signature, Run]]
_WATCHED = ("exit_status", "label", "tags")


def signature(run_dir: str) -> Signature | None:
    """What must be unchanged for a cached read of a finished run to stay valid."""
    attrs = f"{run_dir}/.guild/attrs"
    try:
        parts: list[object] = [
            os.stat(run_dir).st_mtime_ns,
            os.stat(f"{run_dir}/.guild").st_mtime_ns,
            os.stat(attrs).st_mtime_ns,
        ]
        exit_status = os.stat(f"{attrs}/exit_status")
    except OSError:
        return None
    parts.append((exit_status.st_mtime_ns, exit_status.st_size))
    for name in _WATCHED[1:]:
        try:
            found = os.stat(f"{attrs}/{name}")
        except FileNotFoundError:
            parts.append(None)
        except OSError:
            return None
        else:
            parts.append((found.st_mtime_ns, found.st_size))
    return tuple(parts)


def cache_file(cache_dir: Path, guild_home: Path) -> Path:
    """The cache of one GUILD_HOME inside ``cache_dir``."""
    digest = hashlib.sha256(str(guild_home.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"guild-runs-{digest}.pickle"


def load(path: Path) -> Entries:
    """The cached entries, or none when the file is absent, foreign, stale or unreadable."""
    entries = read_pickle(path, (FORMAT, __version__))
    return entries if isinstance(entries, dict) else {}


def read_pickle(path: Path, header: object) -> object:
    """What :func:`write_pickle` wrote with ``header``; ``None`` when the file is absent,
    not the user's own, written with another header, or unreadable."""
    try:
        info = path.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.warning("warning: ignoring run cache %s: not owned by you or writable by others", path)
        return None
    try:
        with path.open("rb") as f:
            # Our own file, in the user's private cache directory, checked above.
            found, payload = pickle.load(f)  # noqa: S301
    except Exception as e:
        log.debug("ignoring unreadable run cache %s: %s", path, e)
        return None
    return payload if found == header else None


def save(path: Path, entries: Entries) -> None:
    """Write the entries atomically; a cache that cannot be written is only logged."""
    write_pickle(path, (FORMAT, __version__), entries)


def write_pickle(path: Path, header: object, payload: object) -> None:
    """Write ``(header, payload)`` atomically; a cache that cannot be written is only logged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
    except OSError as e:
        log.debug("cannot write run cache %s: %s", path, e)
        return
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump((header, payload), f, protocol=pickle.HIGHEST_PROTOCOL)
        Path(tmp).replace(path)
    except OSError as e:
        log.debug("cannot write run cache %s: %s", path, e)
        Path(tmp).unlink(missing_ok=True)
