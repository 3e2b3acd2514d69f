"""Spread a CPU-bound map over forked processes: reading 10,000 runs is Python-bound.

The parent works on the first chunk itself while each child works on one other chunk and
pickles its result into a pipe. A child that fails or dies costs nothing but time: its
chunk is redone in the parent.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 800


def workers() -> int:
    """CPUs this process may run on (1 where fork is unavailable)."""
    if not hasattr(os, "fork"):
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def chunk_count(items: int, processes: int | None = None) -> int:
    """How many chunks (and so processes) :func:`map_chunks` uses for ``items`` items."""
    if items < MIN_ITEMS:
        return 1
    return max(1, min(processes or workers(), items // (MIN_ITEMS // 2)))


def map_chunks(
    func: Callable[[Sequence[T]], R], items: Sequence[T], processes: int | None = None
) -> list[R]:
    """``[func(chunk) for chunk in chunks(items)]``, the chunks computed in parallel."""
    count = chunk_count(len(items), processes)
    if count == 1:
        return [func(items)]
    size = -(-len(items) // count)
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    children = [_spawn(func, chunk) for chunk in chunks[1:]]
    results = [func(chunks[0])]
    for (pid, fd), chunk in zip(children, chunks[1:], strict=True):
        results.append(_collect(pid, fd, func, chunk))
    return results


def _spawn(func: Callable[[Sequence[T]], R], chunk: Sequence[T]) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (runs in the child, which coverage does not follow)
        os.close(read_fd)
        status = 0
        try:
            payload = pickle.dumps(func(chunk), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _collect(pid: int, fd: int, func: Callable[[Sequence[T]], R], chunk: Sequence[T]) -> R:
    with os.fdopen(fd, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status == 0 and payload:
        result: R = pickle.loads(payload)  # noqa: S301 (our own child, through a private pipe)
        return result
    return func(chunk)
