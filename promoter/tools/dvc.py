"""The dvc command line, one method per verb, and the ``.dvc`` pointer format.

Measured with dvc 3.67: every call costs 0.3-0.6 s of start-up, so verbs take many paths at
once. ``-q`` is never passed: it hides dvc's ``ERROR:`` lines too, leaving only an exit code.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from promoter.errors import PromoterError, ToolError

_MD5 = re.compile(r"[0-9a-f]{32}\Z")
_NOT_IN_REMOTE = frozenset({"new", "missing"})


class DvcError(ToolError):
    """A dvc command that exited non-zero."""

    @staticmethod
    def shown(command: Sequence[str]) -> str:
        """The command as a user would type it, capped in length."""
        return _display(command)

    @staticmethod
    def reason(output: str) -> str:
        """The line of the output that says what went wrong."""
        return _meaningful_line(output)


@dataclass(frozen=True)
class DvcOut:
    """One output of a ``.dvc`` file; ``path`` is relative to the ``.dvc`` file's directory.

    ``md5`` never carries the ``.dir`` suffix (``is_dir`` says it had one). ``legacy`` marks an
    output hashed by dvc 2 (no ``hash: md5``), whose objects sit at the remote's root rather
    than under ``files/md5``.
    """

    path: str
    md5: str
    size: int | None
    nfiles: int | None
    is_dir: bool
    legacy: bool = False

    @property
    def dvc_md5(self) -> str:
        """The md5 as DVC writes it in the ``.dvc`` file: ``<md5>.dir`` for a directory."""
        return f"{self.md5}.dir" if self.is_dir else self.md5


@dataclass(frozen=True)
class DvcPointer:
    """The outputs a ``.dvc`` file records."""

    outs: tuple[DvcOut, ...]


class Dvc:
    """The dvc project at ``repo``; ``env`` is laid over the inherited environment."""

    def __init__(self, repo: Path, env: Mapping[str, str] | None = None) -> None:
        self.repo = repo
        self._env = {**os.environ, **(env or {}), "DVC_NO_ANALYTICS": "1"}
        self._exe: str | None = None
        self._config_cache: dict[str, str] | None = None

    def default_remote(self) -> str | None:
        """The name of the default remote, ``None`` when none is set."""
        return self._config().get("core.remote")

    def remote_url(self, name: str) -> str:
        """The URL of remote ``name``; a local path comes back absolute."""
        url = self._config().get(f"remote.{name}.url")
        if url is None:
            raise PromoterError(f"dvc remote {name!r} is not configured in {self.repo}")
        return url

    def add(self, paths: Sequence[str]) -> None:
        """Track ``paths`` (files or directories, relative to ``repo``) with one ``dvc add``."""
        if paths:
            self._run("add", "--", *paths)

    def push(self, targets: Sequence[str], remote: str | None, jobs: int | None = None) -> None:
        """Upload the data of ``targets`` (``.dvc`` files or output paths); none: no-op."""
        if targets:
            self._run("push", *_remote_args(remote), *_jobs_args(jobs), "--", *targets)

    def missing_in_remote(self, targets: Sequence[str], remote: str | None) -> list[str]:
        """The outputs of ``targets`` (paths from ``repo``) with any object absent from ``remote``.

        ``dvc status --cloud --json`` (measured, dvc 3.67) prints ``{}`` when in sync and
        otherwise maps a file (or each file of a directory) to ``new`` (only in the local
        cache), ``deleted`` (only in the remote: fine) or ``missing`` (in neither). It is wrong
        in two cases, both of which a fresh checkout with an empty cache meets: when a
        directory's ``.dir`` object is on the remote it reports every file in it present
        without looking, and when the ``.dir`` is nowhere it leaves the directory out of the
        JSON and only warns on stderr. So for a local-path remote the objects are looked up in
        its ``files/md5/<2>/<30>`` layout directly (exact, and no dvc start-up beyond reading
        the config); other remotes use dvc status, with the stderr warning read for missing
        ``.dir`` objects, and trust a present ``.dir`` for its files (dvc uploads it last).
        """
        if not targets:
            return []
        config = self._config()
        name = remote or config.get("core.remote")
        if name is None:
            raise PromoterError(f"no dvc remote given and no default set in {self.repo}")
        url = config.get(f"remote.{name}.url")
        if url is None:
            raise PromoterError(f"dvc remote {name!r} is not configured in {self.repo}")
        outs = self._outs(targets)
        root = _local_remote_root(url)
        if root is not None and outs is not None:
            return [path for path, out in outs if not _stored_in(root, out)]
        return self._missing_by_status(targets, name, outs)

    def _missing_by_status(
        self, targets: Sequence[str], remote: str, outs: list[tuple[str, DvcOut]] | None
    ) -> list[str]:
        done = self._run("status", "--cloud", "--json", "-r", remote, "--", *targets)
        try:
            status = json.loads(done.stdout or "{}")
        except json.JSONDecodeError as e:
            raise DvcError(done.args, done.returncode, done.stdout, done.stderr) from e
        known: list[tuple[str, DvcOut | None]] = (
            [(posixpath.normpath(t.removesuffix(".dvc")), None) for t in targets]
            if outs is None
            else list(outs)
        )
        missing: list[str] = []
        for key, state in status.items():
            if state in _NOT_IN_REMOTE:
                owner = next((p for p, _ in known if key == p or key.startswith(p + "/")), key)
                missing.append(owner)
        for path, out in known:
            if out is not None and out.is_dir and f"{out.md5}.dir" in done.stderr:
                missing.append(path)
        order = {path: i for i, (path, _) in enumerate(known)}
        return sorted(set(missing), key=lambda p: (order.get(p, len(order)), p))

    def _outs(self, targets: Sequence[str]) -> list[tuple[str, DvcOut]] | None:
        """Outputs of ``targets`` by path from ``repo``; ``None`` if a target has no .dvc file."""
        outs: dict[str, DvcOut] = {}
        for target in targets:
            pointer_file = _pointer_file(self.repo, target)
            if pointer_file is None:
                return None
            base = posixpath.dirname(pointer_file)
            try:
                pointer = parse_dvc_pointer((self.repo / pointer_file).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as e:
                raise PromoterError(f"{pointer_file}: {e}") from e
            for out in pointer.outs:
                outs.setdefault(posixpath.normpath(posixpath.join(base, out.path)), out)
        return list(outs.items())

    def _config(self) -> dict[str, str]:
        """The merged dvc config as flat ``key=value`` pairs, local paths made absolute.

        Read once per instance (each dvc start costs ~0.3 s); promoter never changes the
        config of a repository it holds a ``Dvc`` for.
        """
        if self._config_cache is not None:
            return self._config_cache
        # One call for remote and URL; `dvc remote list` wraps long URLs at 80 columns.
        config: dict[str, str] = {}
        for line in self._run("config", "--list").stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                config[key] = value
        self._config_cache = config
        return config

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [self._executable(), *args]
        try:
            done = subprocess.run(
                command,
                cwd=self.repo,
                env=self._env,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                check=False,
            )
        except FileNotFoundError as e:
            raise PromoterError(f"{self.repo}: no such directory") from e
        if check and done.returncode != 0:
            raise DvcError(command, done.returncode, done.stdout, done.stderr)
        return done

    def _executable(self) -> str:
        if self._exe is None:
            beside = Path(sys.executable).with_name("dvc")
            path = self._env.get("PATH")
            found = str(beside) if beside.is_file() else shutil.which("dvc", path=path)
            if found is None:
                raise PromoterError("dvc is not installed: pip install 'promoter[dvc]' (or dvc)")
            self._exe = found
        return self._exe


def parse_dvc_pointer(text: str) -> DvcPointer:
    """The outputs recorded in the text of a ``.dvc`` file; ValueError when it is not one."""
    # BaseLoader keeps every scalar a string, as dvc's YAML 1.2 writer meant it: a file named
    # `on` is written `path: on`, which safe_load would read as True.
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506
    except yaml.YAMLError as e:
        raise ValueError(f"not valid YAML: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("outs"), list) or not data["outs"]:
        raise ValueError("not a .dvc file: expected a mapping with a non-empty 'outs' list")
    return DvcPointer(tuple(_parse_out(i, out) for i, out in enumerate(data["outs"])))


def _parse_out(index: int, out: object) -> DvcOut:
    where = f"outs[{index}]"
    if not isinstance(out, dict):
        raise ValueError(f"{where} is not a mapping")
    path = out.get("path")
    if not isinstance(path, str) or not path:
        raise ValueError(f"{where} has no path")
    md5 = out.get("md5")
    if not isinstance(md5, str):
        raise ValueError(f"{where} ({path}) has no md5")
    digest = md5.removesuffix(".dir")
    if not _MD5.match(digest):
        raise ValueError(f"{where} ({path}) has a malformed md5 {md5!r}")
    return DvcOut(
        path=path,
        md5=digest,
        size=_count(out, "size", where),
        nfiles=_count(out, "nfiles", where),
        is_dir=md5.endswith(".dir"),
        legacy=out.get("hash") != "md5",
    )


def _count(out: dict[str, object], key: str, where: str) -> int | None:
    value = out.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.isdigit():
        raise ValueError(f"{where} has a malformed {key} {value!r}")
    return int(value)


def _pointer_file(repo: Path, target: str) -> str | None:
    """The ``.dvc`` file (from ``repo``) that ``target`` names or tracks, if there is one."""
    target = posixpath.normpath(target)
    if target.endswith(".dvc") and (repo / target).is_file():
        return target
    if (repo / f"{target}.dvc").is_file():
        return f"{target}.dvc"
    return None


def _local_remote_root(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme == "":
        return Path(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return None


def _object_path(root: Path, md5: str, legacy: bool) -> Path:
    base = root if legacy else root / "files" / "md5"
    return base / md5[:2] / md5[2:]


def _stored_in(root: Path, out: DvcOut) -> bool:
    """Whether every object of ``out`` is in the local remote at ``root``."""
    if not out.is_dir:
        return _object_path(root, out.md5, out.legacy).is_file()
    listing = _object_path(root, f"{out.md5}.dir", out.legacy)
    try:
        entries = json.loads(listing.read_bytes())
        digests = [entry["md5"] for entry in entries]
    except (OSError, ValueError, TypeError, KeyError):
        return False
    return all(isinstance(d, str) and _object_path(root, d, out.legacy).is_file() for d in digests)


def _remote_args(remote: str | None) -> list[str]:
    return ["-r", remote] if remote else []


def _jobs_args(jobs: int | None) -> list[str]:
    return ["-j", str(jobs)] if jobs else []


def _meaningful_line(output: str) -> str:
    """dvc's first ``ERROR:`` line, else its last line that is not the support banner."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    if errors:
        return errors[0]
    lines = [line for line in lines if not line.startswith("Having any troubles?")]
    return lines[-1] if lines else ""


def _display(command: Sequence[str]) -> str:
    """The command as a user would type it (``dvc`` rather than its full path), capped in length."""
    args = ["dvc", *command[1:]]
    shown = shlex.join(args[:8])
    return shown + " ..." if len(args) > 8 else shown
