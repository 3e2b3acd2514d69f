"""A listing of a Guild remote's ``runs/`` prefix, grouped by run: which objects listing and
ranking need (a few attributes, the opref, the event files), which markers are present, and a
signature that changes whenever one of those objects does. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from promoter.runs.guild.s3 import S3Object

# The attributes rundir.read_run reads (``initialized`` only stands in for a missing
# ``started``). Never ``env``: it can hold secrets.
LISTING_ATTRS = frozenset(
    {"exit_status", "started", "initialized", "stopped", "label", "tags", "flags", "vcs_commit"}
)
PROVENANCE_ATTRS = ("host", "user", "sourcecode_digest", "random_seed", "cmd", "platform")
PACKAGES_ATTR = "pip_freeze"
# Marker files rundir reads by name only (their content does not matter).
MARKER_FILES = frozenset({"PENDING", "STAGED", "LOCK.remote"})
RUN_ID = re.compile(r"[0-9a-f]{32}\Z")


@dataclass
class RemoteRun:
    """One run's objects as listed: all of them, and the ones listing downloads."""

    run_id: str
    objects: dict[str, S3Object] = field(default_factory=dict)
    """Every object, by path in the run directory."""
    needed: dict[str, S3Object] = field(default_factory=dict)
    """The objects listing reads: opref, the listing attributes, event files."""
    markers: set[str] = field(default_factory=set)
    """``attrs`` and ``proto`` (directories), ``LOCK`` and MARKER_FILES present in ``.guild``."""
    unsafe: list[str] = field(default_factory=list)
    """Object paths that could escape the run directory (never downloaded)."""

    @property
    def signature(self) -> tuple[object, ...]:
        """Equal for two listings exactly when every object listing reads is unchanged."""
        objects = tuple(sorted((p, o.etag, o.size) for p, o in self.needed.items()))
        return (objects, tuple(sorted(self.markers)))

    @property
    def finished(self) -> bool:
        """Whether the run has an exit status (else it may still be running elsewhere)."""
        return ".guild/attrs/exit_status" in self.needed

    @property
    def locked(self) -> bool:
        """A ``LOCK`` without an exit status: running on the machine that pushed it."""
        return "LOCK" in self.markers and not self.finished


def group_runs(objects: Iterable[S3Object], runs_prefix: str) -> dict[str, RemoteRun]:
    """The objects under ``runs_prefix`` (``<root>/runs/``) grouped by run directory."""
    runs: dict[str, RemoteRun] = {}
    for obj in objects:
        name, _, path = obj.key[len(runs_prefix) :].partition("/")
        if not name or not path:
            continue
        run = runs.get(name)
        if run is None:
            run = runs[name] = RemoteRun(name)
        if not safe_path(path):
            run.unsafe.append(path)
            continue
        run.objects[path] = obj
        _classify(run, path, obj)
    for run in runs.values():
        if ".guild/attrs/started" in run.needed:
            run.needed.pop(".guild/attrs/initialized", None)
    return runs


def _classify(run: RemoteRun, path: str, obj: S3Object) -> None:
    if not path.startswith(".guild/"):
        if ".tfevents." in path.rpartition("/")[2]:
            run.needed[path] = obj
        return
    rest = path[len(".guild/") :]
    if rest.startswith("attrs/"):
        run.markers.add("attrs")
        if rest[len("attrs/") :] in LISTING_ATTRS:
            run.needed[path] = obj
    elif rest.startswith("proto/"):
        run.markers.add("proto")
    elif "/" in rest:
        return
    elif rest == "opref" or ".tfevents." in rest:
        run.needed[path] = obj
    elif rest in MARKER_FILES or rest == "LOCK":
        run.markers.add(rest)


def safe_path(path: str) -> bool:
    """A relative path that stays inside the run directory."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))
