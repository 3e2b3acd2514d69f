"""Guild AI run store: reads ``$GUILD_HOME/runs`` directly, without importing or calling Guild.

Layout facts (Guild 0.9.0) are in docs/guild-format.md. Only the attributes that listing and
selection need are read: the others (``env``, ``pip_freeze``, ``op``) cost far more to parse.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from promoter.errors import UsageError
from promoter.models import FlagValue, Run, RunFile, RunFiles, RunStatus, ScalarSeries
from promoter.stores.base import Progress, RunListing, SkippedRun
from promoter.stores.tfevents import EventFileError, read_scalars

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RUN_ID = re.compile(r"[0-9a-f]{32}\Z")
_YAML_INDICATORS = frozenset("'\"!&*[]{}|>%@`#-?:,")
_OUTPUT_SCALARS_PREFIX = ".guild"


class CorruptRun(Exception):
    """A run directory that cannot be read as a Guild run."""


class GuildRunStore:
    """Runs of one ``GUILD_HOME``."""

    def __init__(self, home: Path) -> None:
        self.home = home

    @property
    def runs_dir(self) -> Path:
        """Where Guild keeps live runs (deleted ones move to ``trash/runs``)."""
        return self.home / "runs"

    def check(self) -> None:
        """Fail with a usage error when the home is missing or holds no runs."""
        if not self.home.is_dir():
            raise UsageError(f"GUILD_HOME {self.home} does not exist")
        if not self.runs_dir.is_dir() or not any(self.runs_dir.iterdir()):
            raise UsageError(f"GUILD_HOME {self.home} holds no runs (looked in {self.runs_dir})")

    def list_runs(self, progress: Progress | None = None) -> RunListing:
        """Every readable run, newest first; unreadable ones are reported as skipped."""
        self.check()
        names = [e.name for e in os.scandir(self.runs_dir) if e.is_dir()]
        runs: list[Run] = []
        skipped: list[SkippedRun] = []
        for done, name in enumerate(names, 1):
            run_dir = self.runs_dir / name
            try:
                run = read_run(run_dir)
            except CorruptRun as e:
                skipped.append(SkippedRun(name, str(e)))
            else:
                if run is not None:
                    runs.append(run)
            if progress is not None and (done % 500 == 0 or done == len(names)):
                progress(done, len(names))
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


def _newest_first(run: Run) -> tuple[float, str]:
    return (-(run.started.timestamp() if run.started else 0.0), run.id)


def read_run(run_dir: Path) -> Run | None:
    """Read one run directory; ``None`` when it is not a run (no ``.guild/opref``)."""
    guild_dir = run_dir / ".guild"
    try:
        guild_names = set(os.listdir(guild_dir))
    except OSError:
        return None
    if "opref" not in guild_names:
        return None
    if not _RUN_ID.match(run_dir.name):
        raise CorruptRun(f"directory name {run_dir.name!r} is not a Guild run id")
    attrs_dir = guild_dir / "attrs"
    try:
        attr_names = set(os.listdir(attrs_dir))
    except OSError as e:
        raise CorruptRun(f"no attributes ({e.strerror})") from e
    attrs = _AttrReader(attrs_dir, attr_names)
    op = _op_name(_read_text(guild_dir / "opref"))
    exit_status = attrs.integer("exit_status")
    return Run(
        id=run_dir.name,
        op=op,
        status=_status(guild_dir, guild_names, exit_status),
        started=_timestamp(attrs.integer("started") or attrs.integer("initialized")),
        stopped=_timestamp(attrs.integer("stopped")),
        label=attrs.text("label") or "",
        tags=tuple(str(t) for t in attrs.sequence("tags")),
        flags=attrs.mapping("flags"),
        scalars=_scalars(run_dir, guild_names),
        vcs_commit=attrs.text("vcs_commit"),
        sourcecode_digest=attrs.text("sourcecode_digest"),
        host=attrs.text("host"),
        user=attrs.text("user"),
        path=run_dir,
        batch="proto" in guild_names,
    )


class _AttrReader:
    """Reads ``.guild/attrs/<name>`` YAML documents, with fast paths for plain scalars."""

    def __init__(self, attrs_dir: Path, names: set[str]) -> None:
        self._dir = attrs_dir
        self._names = names

    def _raw(self, name: str) -> str | None:
        if name not in self._names:
            return None
        return _read_text(self._dir / name)

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
        if line and "\n" not in line and line[0] not in _YAML_INDICATORS and ": " not in line:
            return line
        value = self._yaml(name, raw)
        return None if value is None else str(value)

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
        value = None if raw is None else self._yaml(name, raw)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise CorruptRun(f"attribute {name!r} is not a mapping")
        return {str(k): v for k, v in value.items()}


def _read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CorruptRun(f"cannot read {path.name}: {e}") from e


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _op_name(opref: str) -> str:
    """``guildfile:<path> <digest> <model> <op>`` to ``model:op`` (or ``op``), as Guild shows it."""
    try:
        parts = shlex.split(opref)
    except ValueError as e:
        raise CorruptRun(f"opref is malformed: {e}") from e
    if len(parts) != 4 or not parts[3]:
        raise CorruptRun(f"opref is malformed: {opref.strip()[:80]!r}")
    model, op = parts[2], parts[3]
    return f"{model}:{op}" if model else op


def _status(guild_dir: Path, names: set[str], exit_status: int | None) -> RunStatus:
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
    if "LOCK" in names and _pid_alive(guild_dir / "LOCK"):
        return RunStatus.RUNNING
    return RunStatus.ERROR


def _pid_alive(lock: Path) -> bool:
    try:
        pid = int(lock.read_text()[:10])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _timestamp(micros: int | None) -> datetime | None:
    if micros is None:
        return None
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def _scalars(run_dir: Path, guild_names: set[str]) -> dict[str, ScalarSeries]:
    """Every scalar of every events file under the run dir, keyed as Guild names them.

    Guild tags scalars with the events file's directory (``.guild`` for output scalars). A
    tag is reachable by its bare name from its preferred prefix (``.guild``, then the run
    root, then the first in order) and always as ``prefix#tag``.
    """
    by_prefix: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    for events_dir, files in _events_dirs(run_dir, guild_names):
        prefix = os.path.relpath(events_dir, run_dir).replace(os.sep, "/")
        prefix = "" if prefix == "." else prefix
        tags = by_prefix.setdefault(prefix, {})
        for name in sorted(files):
            try:
                events = read_scalars(Path(events_dir, name))
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


def _events_dirs(run_dir: Path, guild_names: set[str]) -> Iterator[tuple[str, list[str]]]:
    """Directories holding ``*.tfevents.*`` files, walked as Guild walks them."""
    guild_events = [n for n in guild_names if ".tfevents." in n]
    if guild_events:
        yield str(run_dir / ".guild"), guild_events
    stack = [str(run_dir)]
    while stack:
        current = stack.pop()
        events: list[str] = []
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                if entry.name == ".guild" and current == str(run_dir):
                    continue
                if not entry.is_symlink() or (Path(entry.path) / ".guild" / "opref").exists():
                    stack.append(entry.path)
            elif ".tfevents." in entry.name:
                events.append(entry.name)
        if events:
            yield current, events


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
