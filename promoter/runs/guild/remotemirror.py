"""The local mirror of a Guild remote's listing objects: which runs to read again, each run's
directory laid out as :func:`rundir.read_run` expects it, and the parse (forked when there
are many runs). The store (:mod:`.remote`) moves the bytes."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from promoter.core.models import Run, RunStatus
from promoter.runs.base import SkippedRun
from promoter.runs.guild import runcache
from promoter.runs.guild.remoteindex import MARKER_FILES, RUN_ID, RemoteRun
from promoter.runs.guild.rundir import CorruptRun, read_run

HALF_PUSHED = "a push that did not finish?"


def triage(
    listed: dict[str, RemoteRun], cached: runcache.Entries
) -> tuple[list[str], list[str], list[SkippedRun]]:
    """Runs whose cached read still holds, runs to read, and runs that cannot be read."""
    reused: list[str] = []
    fresh: list[str] = []
    skipped: list[SkippedRun] = []
    for run_id, run in sorted(listed.items()):
        if ".guild/opref" not in run.needed:
            if RUN_ID.match(run_id):
                skipped.append(SkippedRun(run_id, f"no .guild/opref: {HALF_PUSHED}"))
            continue
        if not RUN_ID.match(run_id):
            skipped.append(SkippedRun(run_id, f"directory name {run_id!r} is not a Guild run id"))
            continue
        if run.unsafe:
            skipped.append(
                SkippedRun(run_id, f"object {run.unsafe[0]!r} leads outside the run directory")
            )
            continue
        hit = cached.get(run_id)
        if hit is not None and hit[0] == run.signature:
            reused.append(run_id)
        else:
            fresh.append(run_id)
    return reused, fresh, skipped


def unchanged_objects(signature: tuple[object, ...]) -> set[tuple[object, ...]]:
    objects = signature[0] if signature else ()
    return {o for o in objects if isinstance(o, tuple)} if isinstance(objects, tuple) else set()


def sync_layout(root: Path, run: RemoteRun) -> None:
    """Make ``root`` hold only what the run has now: remove files it no longer lists, and
    lay out the directories and empty marker files :func:`rundir.read_run` looks for."""
    if root.is_dir():
        for base, dirs, files in os.walk(root, topdown=False):
            for name in files:
                full = Path(base) / name
                rel = full.relative_to(root).as_posix()
                if rel not in run.needed:
                    full.unlink()
            for name in dirs:
                with contextlib.suppress(OSError):
                    (Path(base) / name).rmdir()
    guild = root / ".guild"
    guild.mkdir(parents=True, exist_ok=True)
    for name in ("attrs", "proto"):
        if name in run.markers:
            (guild / name).mkdir(exist_ok=True)
    for name in MARKER_FILES & run.markers:
        (guild / name).touch()


class ChunkParser:
    """Parses mirrored run directories (in forked processes when there are many)."""

    def __init__(self, meta: str) -> None:
        self.meta = meta

    def __call__(self, items: Sequence[tuple[str, bool]]) -> list[tuple[str, Run | str]]:
        out: list[tuple[str, Run | str]] = []
        for run_id, locked in items:
            try:
                run = read_run(f"{self.meta}/{run_id}", run_id)
            except CorruptRun as e:
                out.append((run_id, f"{e} ({HALF_PUSHED})"))
                continue
            if run is None:
                out.append((run_id, f"no .guild/opref: {HALF_PUSHED}"))
                continue
            if locked and run.status is RunStatus.ERROR:
                # The LOCK's pid belongs to the machine that pushed the run: the run was
                # running there when it was last pushed.
                run = dataclasses.replace(run, status=RunStatus.RUNNING)
            out.append((run_id, run))
        return out
