"""One Guild run directory read without Guild: attributes, status, scalars, manifest, files.

Layout facts (Guild 0.9.0) are in docs/guild-format.md. Everything here takes plain paths
and names so that a listing of thousands of runs costs few syscalls; the store
(:mod:`promoter.runs.guild.store`) decides which directories to read.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from promoter.core.models import FlagValue, Run, RunFile, RunFiles, RunStatus, ScalarSeries
from promoter.runs.guild.fastio import read_file
from promoter.runs.guild.plainyaml import NotSimple, flat_mapping
from promoter.runs.guild.tfevents import EventFileError, read_scalars

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RUN_ID = re.compile(r"[0-9a-f]{32}\Z")
_YAML_INDICATORS = frozenset("'\"!&*[]{}|>%@`#-?:,")
_OUTPUT_SCALARS_PREFIX = ".guild"


class CorruptRun(Exception):
    """A run directory that cannot be read as a Guild run."""


def python_version(platform: object) -> str | None:
    if isinstance(platform, dict) and platform.get("python_version"):
        return str(platform["python_version"]).split()[0]
    return None


def read_run(root: str, name: str) -> Run | None:
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
    attrs = AttrReader(f"{guild_dir}/attrs/")
    op = _op_name(_read_text(f"{guild_dir}/opref") or "")
    if "proto" in guild_names:
        op = _batch_op_name(guild_dir, op)
    exit_status = attrs.integer("exit_status")
    vcs_commit = attrs.text("vcs_commit")
    source_commit, dirty = parse_vcs_commit(vcs_commit)
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
        vcs_commit=vcs_commit,
        source_commit=source_commit,
        dirty_source=dirty,
        batch="proto" in guild_names,
    )


class AttrReader:
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


def manifest_entries(path: Path) -> Iterator[tuple[str, list[str]]]:
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


def split_run_files(manifest: Path, files: Iterable[tuple[str, int | None]]) -> RunFiles:
    """Source and dependency files from the manifest; every other file of ``files`` (run
    paths and sizes, outside ``.guild``) is generated."""
    source: list[RunFile] = []
    deps: list[RunFile] = []
    for kind, args in manifest_entries(manifest):
        if kind == "s" and len(args) >= 3:
            source.append(RunFile(args[0], "source", args[2], args[1]))
        elif kind == "d" and len(args) >= 3:
            sha1 = None if args[1] == "-" else args[1]
            project = args[2][len("file:") :] if args[2].startswith("file:") else None
            deps.append(RunFile(args[0], "dependency", project, sha1, uri=args[2]))
    listed = {f.run_path for f in (*source, *deps)}
    generated = tuple(
        RunFile(rel, "generated", size=size)
        for rel, size in files
        if rel not in listed and not under_any(rel, listed)
    )
    return RunFiles(tuple(source), tuple(deps), generated)


def walk_files(run_dir: Path) -> Iterator[tuple[str, int]]:
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


def under_any(rel: str, listed: set[str]) -> bool:
    return any(rel.startswith(p.rstrip("/") + "/") for p in listed)


def parse_vcs_commit(text: str | None) -> tuple[str | None, bool]:
    """Guild's ``git:<sha>`` (``*`` appended when the tree was dirty) as (sha, dirty)."""
    if not text:
        return None, False
    dirty = text.endswith("*")
    kind, _, revision = text.rstrip("*").partition(":")
    return (revision or None) if kind == "git" else None, dirty
