"""Guild AI run store: reads ``$GUILD_HOME/runs`` directly, without importing or calling Guild.

Layout facts (Guild 0.9.0) are in docs/guild-format.md. Listing reads only the attributes
selection needs; ``pip_freeze`` and the like are read by :meth:`GuildRunStore.provenance` for
the one run being promoted, and ``env`` (which can hold secrets) is never read.
"""

from __future__ import annotations

import gc
import os
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from promoter.core.models import (
    FlagValue,
    Provenance,
    Run,
    RunFile,
    RunFiles,
    RunStatus,
    ScalarSeries,
)
from promoter.errors import PromoterError, UsageError
from promoter.runs.base import Progress, RunListing, SkippedRun
from promoter.runs.forked import chunk_count, map_chunks
from promoter.runs.guild import runcache
from promoter.runs.guild.fastio import read_file
from promoter.runs.guild.plainyaml import NotSimple, flat_mapping
from promoter.runs.guild.tfevents import EventFileError, read_scalars

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RUN_ID = re.compile(r"[0-9a-f]{32}\Z")
_YAML_INDICATORS = frozenset("'\"!&*[]{}|>%@`#-?:,")
_OUTPUT_SCALARS_PREFIX = ".guild"


class CorruptRun(Exception):
    """A run directory that cannot be read as a Guild run."""


class GuildRunStore:
    """Runs of one ``GUILD_HOME``; finished runs are cached in ``cache_dir`` when given."""

    def __init__(self, home: Path, cache_dir: Path | None = None) -> None:
        self.home = home
        self.cache_path = runcache.cache_file(cache_dir, home) if cache_dir else None

    @property
    def runs_dir(self) -> Path:
        """Where Guild keeps live runs (deleted ones move to ``trash/runs``)."""
        return self.home / "runs"

    def list_runs(self, progress: Progress | None = None) -> RunListing:
        """Every readable run, newest first; unreadable ones are reported as skipped.

        Raises UsageError when the home is missing or holds no runs.
        """
        if not self.home.is_dir():
            raise UsageError(f"GUILD_HOME {self.home} does not exist")
        try:
            entries = [(e.path, e.name) for e in os.scandir(self.runs_dir) if e.is_dir()]
        except FileNotFoundError:
            entries = []
        if not entries:
            raise UsageError(f"GUILD_HOME {self.home} holds no runs (looked in {self.runs_dir})")
        cached = runcache.load(self.cache_path) if self.cache_path else {}
        reader = _ChunkReader(cached, signed=self.cache_path is not None)
        if progress is not None:
            share = chunk_count(len(entries))
            reader.progress = lambda done: progress(min(done * share, len(entries)), len(entries))
        runs: list[Run] = []
        skipped: list[SkippedRun] = []
        fresh: runcache.Entries = {}
        with _collector_paused():
            chunks = map_chunks(reader, entries)
        for chunk in chunks:
            runs.extend(cached[run_id][1] for run_id in chunk.reused)
            runs.extend(run for _, run in chunk.fresh)
            fresh.update((run.id, (sig, run)) for sig, run in chunk.fresh if sig is not None)
            skipped.extend(chunk.skipped)
        if progress is not None:
            progress(len(entries), len(entries))
        if self.cache_path:
            kept = {r.id: cached[r.id] for r in runs if r.id in cached and r.id not in fresh}
            if fresh or kept.keys() != cached.keys():
                runcache.save(self.cache_path, {**kept, **fresh})
        runs.sort(key=_newest_first)
        return RunListing(tuple(runs), tuple(skipped))

    def run_files(self, run: Run) -> RunFiles:
        """Source and dependency files from the manifest; every other file is generated."""
        run_dir = self.runs_dir / run.id
        source: list[RunFile] = []
        deps: list[RunFile] = []
        for kind, args in _manifest_entries(run_dir / ".guild" / "manifest"):
            if kind == "s" and len(args) >= 3:
                source.append(RunFile(args[0], "source", args[2], args[1]))
            elif kind == "d" and len(args) >= 3:
                sha1 = None if args[1] == "-" else args[1]
                project = args[2][len("file:") :] if args[2].startswith("file:") else None
                deps.append(RunFile(args[0], "dependency", project, sha1, uri=args[2]))
        listed = {f.run_path for f in (*source, *deps)}
        generated = tuple(
            RunFile(rel, "generated", size=size)
            for rel, size in _walk_files(run_dir)
            if rel not in listed and not _under_any(rel, listed)
        )
        return RunFiles(tuple(source), tuple(deps), generated)

    def provenance(self, run: Run) -> Provenance:
        """Host, user, source digest, seed, command and packages of one run."""
        attrs = _AttrReader(f"{self.runs_dir}/{run.id}/.guild/attrs/")
        try:
            platform = attrs.any("platform")
            seed = attrs.integer("random_seed")
            return Provenance(
                host=attrs.text("host"),
                user=attrs.text("user"),
                sourcecode_digest=attrs.text("sourcecode_digest"),
                random_seed=seed,
                command=tuple(str(a) for a in attrs.sequence("cmd")),
                python=_python_version(platform),
                packages=tuple(str(p) for p in attrs.sequence("pip_freeze")),
            )
        except CorruptRun as e:
            raise PromoterError(f"run {run.id}: {e}") from e


def _python_version(platform: object) -> str | None:
    if isinstance(platform, dict) and platform.get("python_version"):
        return str(platform["python_version"]).split()[0]
    return None


@dataclass(slots=True)
class _Chunk:
    reused: list[str] = field(default_factory=list)
    fresh: list[tuple[runcache.Signature | None, Run]] = field(default_factory=list)
    skipped: list[SkippedRun] = field(default_factory=list)


class _ChunkReader:
    """Reads a chunk of run dirs, reusing cached runs whose signature is unchanged."""

    def __init__(self, cached: runcache.Entries, signed: bool) -> None:
        self.cached = cached
        self.signed = signed
        self.progress: Callable[[int], None] | None = None

    def __call__(self, entries: Sequence[tuple[str, str]]) -> _Chunk:
        chunk = _Chunk()
        for done, (path, name) in enumerate(entries):
            if self.progress is not None and done % 500 == 0:
                self.progress(done)
            sig = runcache.signature(path) if self.signed else None
            hit = self.cached.get(name)
            if sig is not None and hit is not None and hit[0] == sig:
                chunk.reused.append(name)
                continue
            try:
                run = _read_run(path, name)
            except CorruptRun as e:
                chunk.skipped.append(SkippedRun(name, str(e)))
            else:
                if run is not None:
                    chunk.fresh.append((sig, run))
        return chunk


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while reading and unpickling runs.

    Listing makes hundreds of thousands of small acyclic objects; each generation-0 sweep
    walks them again (measured: unpickling 5,000 runs 0.16 s with it, 0.06 s without).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _newest_first(run: Run) -> tuple[float, str]:
    return (-(run.started.timestamp() if run.started else 0.0), run.id)


def _read_run(root: str, name: str) -> Run | None:
    """Read one run directory; ``None`` when it is not a run (no ``.guild/opref``)."""
    guild_dir = f"{root}/.guild"
    try:
        guild_names = set(os.listdir(guild_dir))
    except OSError:
        return None
    if "opref" not in guild_names:
        return None
    if not _RUN_ID.match(name):
        raise CorruptRun(f"directory name {name!r} is not a Guild run id")
    if "attrs" not in guild_names:
        raise CorruptRun("no attributes (.guild/attrs is missing)")
    attrs = _AttrReader(f"{guild_dir}/attrs/")
    op = _op_name(_read_text(f"{guild_dir}/opref") or "")
    if "proto" in guild_names:
        op = _batch_op_name(guild_dir, op)
    exit_status = attrs.integer("exit_status")
    started = attrs.integer("started")
    return Run(
        id=name,
        op=op,
        status=_status(guild_dir, guild_names, exit_status),
        started=_timestamp(started if started is not None else attrs.integer("initialized")),
        stopped=_timestamp(attrs.integer("stopped")),
        label=attrs.text("label") or "",
        tags=tuple(str(t) for t in attrs.sequence("tags")),
        flags=attrs.mapping("flags"),
        scalars=_scalars(root, guild_names),
        vcs_commit=attrs.text("vcs_commit"),
        batch="proto" in guild_names,
    )


class _AttrReader:
    """Reads ``.guild/attrs/<name>`` YAML documents, with fast paths for plain scalars."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def _raw(self, name: str) -> str | None:
        return _read_text(self._prefix + name)

    def _yaml(self, name: str, raw: str) -> object:
        try:
            return yaml.load(raw, Loader=_Loader)  # noqa: S506 (a safe loader)
        except yaml.YAMLError as e:
            raise CorruptRun(f"attribute {name!r} is not valid YAML: {_first_line(e)}") from e

    def integer(self, name: str) -> int | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            value = self._yaml(name, raw)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise CorruptRun(f"attribute {name!r} is not an integer: {raw.strip()[:40]!r}")
        return value

    def text(self, name: str) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return None
        line = raw.rstrip("\n")
        if line == "''":
            return ""
        if (
            line
            and line[0] not in _YAML_INDICATORS
            and "\n" not in line
            and ": " not in line
            and " #" not in line
        ):
            return line
        value = self._yaml(name, raw)
        return None if value is None else str(value)

    def any(self, name: str) -> object:
        raw = self._raw(name)
        return None if raw is None else self._yaml(name, raw)

    def sequence(self, name: str) -> list[object]:
        raw = self._raw(name)
        value = None if raw is None else self._yaml(name, raw)
        if value is None:
            return []
        if not isinstance(value, list):
            raise CorruptRun(f"attribute {name!r} is not a list")
        return value

    def mapping(self, name: str) -> dict[str, FlagValue]:
        raw = self._raw(name)
        if raw is None:
            return {}
        fast = flat_mapping(raw)
        if not isinstance(fast, NotSimple):
            return fast
        value = self._yaml(name, raw)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise CorruptRun(f"attribute {name!r} is not a mapping")
        return {str(k): v for k, v in value.items()}


def _read_text(path: str) -> str | None:
    """A small file's text; ``None`` when it does not exist."""
    try:
        return read_file(path).decode("utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CorruptRun(f"cannot read {os.path.basename(path)}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise CorruptRun(f"{os.path.basename(path)} is not UTF-8 text: {e}") from e


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _op_name(opref: str) -> str:
    """``guildfile:<path> <digest> <model> <op>`` to ``model:op`` (or ``op``), as Guild shows it."""
    parts = opref.split()
    if any(c in opref for c in "'\"\\") and not (len(parts) == 4 and parts[2] == "''"):
        try:
            parts = shlex.split(opref)
        except ValueError as e:
            raise CorruptRun(f"opref is malformed: {e}") from e
    elif len(parts) == 4 and parts[2] == "''":
        parts[2] = ""
    if len(parts) != 4 or not parts[3]:
        raise CorruptRun(f"opref is malformed: {opref.strip()[:80]!r}")
    model, op = parts[2], parts[3]
    return f"{model}:{op}" if model else op


def _batch_op_name(guild_dir: str, op: str) -> str:
    """A batch run as Guild shows it: its prototype's op, ``+``, then the optimizer if any
    (``iris-svm:train+``, ``train+skopt:random``; guild/run_util.py ``_apply_batch_desc``)."""
    proto = _read_text(f"{guild_dir}/proto/.guild/opref")
    if not proto:
        return op
    return _op_name(proto) + ("" if op.startswith("+") else "+") + op


def _status(guild_dir: str, names: set[str], exit_status: int | None) -> RunStatus:
    """Guild's rules, in Guild's order (guild/run.py ``Run.status``)."""
    if "LOCK.remote" in names:
        return RunStatus.RUNNING
    if "PENDING" in names:
        return RunStatus.PENDING
    if "STAGED" in names:
        return RunStatus.STAGED
    if exit_status is not None:
        if exit_status == 0:
            return RunStatus.COMPLETED
        return RunStatus.TERMINATED if exit_status < 0 else RunStatus.ERROR
    if "LOCK" in names and _pid_alive(f"{guild_dir}/LOCK"):
        return RunStatus.RUNNING
    return RunStatus.ERROR


def _pid_alive(lock: str) -> bool:
    try:
        pid = int((_read_text(lock) or "")[:10])
        os.kill(pid, 0)
    except (OSError, ValueError, CorruptRun):
        return False
    return True


def _timestamp(micros: int | None) -> datetime | None:
    if micros is None:
        return None
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def _scalars(run_dir: str, guild_names: set[str]) -> dict[str, ScalarSeries]:
    """Every scalar of every events file under the run dir, keyed as Guild names them.

    Guild tags scalars with the events file's directory (``.guild`` for output scalars). A
    tag is reachable by its bare name from its preferred prefix (``.guild``, then the run
    root, then the first in order) and always as ``prefix#tag``.
    """
    by_prefix: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    for events_dir, files in _events_dirs(run_dir, guild_names):
        prefix = events_dir[len(run_dir) + 1 :]
        tags = by_prefix.setdefault(prefix, {})
        for name in sorted(files):
            try:
                events = read_scalars(f"{events_dir}/{name}")
            except (EventFileError, OSError) as e:
                raise CorruptRun(f"events file {prefix}/{name} is unreadable: {e}") from e
            for tag, value, step in events:
                steps, values = tags.setdefault(tag, ([], []))
                steps.append(step)
                values.append(value)
    result: dict[str, ScalarSeries] = {}
    for prefix in sorted(by_prefix, key=_prefix_preference):
        for tag, (steps, values) in by_prefix[prefix].items():
            series = ScalarSeries(tag, prefix, tuple(steps), tuple(values))
            result.setdefault(tag, series)
            result[f"{prefix}#{tag}"] = series
    return result


def _prefix_preference(prefix: str) -> tuple[int, str]:
    return (0 if prefix == _OUTPUT_SCALARS_PREFIX else 1 if prefix == "" else 2, prefix)


def _events_dirs(run_dir: str, guild_names: set[str]) -> Iterator[tuple[str, list[str]]]:
    """Directories holding ``*.tfevents.*`` files, walked as Guild walks them."""
    guild_events = [n for n in guild_names if ".tfevents." in n]
    if guild_events:
        yield f"{run_dir}/.guild", guild_events
    stack = [run_dir]
    while stack:
        current = stack.pop()
        events: list[str] = []
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if ".tfevents." in entry.name and not entry.is_dir():
                        events.append(entry.name)
                    elif entry.is_dir() and _walkable(entry, current == run_dir):
                        stack.append(entry.path)
        except OSError:
            continue
        if events:
            yield current, events


def _walkable(entry: os.DirEntry[str], at_root: bool) -> bool:
    """Guild skips ``.guild`` and follows a linked directory only when it is a run."""
    if at_root and entry.name == ".guild":
        return False
    return not entry.is_symlink() or os.path.exists(f"{entry.path}/.guild/opref")


def _manifest_entries(path: Path) -> Iterator[tuple[str, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    for line in text.splitlines():
        try:
            parts = shlex.split(line)
        except ValueError:
            continue
        if parts:
            yield parts[0], parts[1:]


def _walk_files(run_dir: Path) -> Iterator[tuple[str, int]]:
    """Run-relative paths and sizes of every regular file outside ``.guild``; symlinks included."""
    for root, dirs, files in os.walk(run_dir):
        rel_root = os.path.relpath(root, run_dir)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d != ".guild"]
            rel_root = ""
        dirs.sort()
        for name in sorted(files):
            rel = f"{rel_root}/{name}" if rel_root else name
            try:
                size = os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            yield rel.replace(os.sep, "/"), size


def _under_any(rel: str, listed: set[str]) -> bool:
    return any(rel.startswith(p.rstrip("/") + "/") for p in listed)
