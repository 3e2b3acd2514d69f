"""A scratch git worktree for a promotion, so the user's working tree is never touched.

The promotion branch is built in ``<git dir>/promoter/worktrees/<name>`` from ``pr.base``;
whatever fails, the worktree is removed and the user's checkout, branches and index are as
they were. DVC in the worktree shares the main checkout's cache (same filesystem, so the
model is linked rather than copied) and sees remotes defined in ``.dvc/config.local``.
"""

from __future__ import annotations

import configparser
import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from promoter.tools.git import Git, is_relative_path
from promoter.tools.owners import is_running, process_identity

log = logging.getLogger("promoter")

# DVC links the workspace file into its cache only when the FIRST type is hardlink
# (dvc/output.py); with reflink first on ext4 it copies the whole model (measured: 1 GiB
# `dvc add` 4.3 s -> 2.1 s). The worktree is deleted afterwards, so links cost nothing.
_LINK_TYPES = "hardlink,reflink,copy"


_OWNER = ".owner"


@contextmanager
def scratch_worktree(git: Git, base_ref: str, name: str) -> Iterator[Path]:
    """A detached worktree at ``base_ref``, removed on exit.

    Worktrees left by promoter processes that were killed are removed first: a kill (the CI
    job cancelled, the runner lost) gives no chance to clean up.
    """
    root = worktrees_root(git)
    root.mkdir(parents=True, exist_ok=True)
    remove_abandoned(git, root)
    path = root / f"{name}-{os.getpid()}"
    owner = path.with_name(path.name + _OWNER)
    git.worktree_remove(path)
    owner.write_text(process_identity(), encoding="ascii")
    try:
        git.worktree_add(path, base_ref)
        yield path
    finally:
        git.worktree_remove(path)
        owner.unlink(missing_ok=True)


def worktrees_root(git: Git) -> Path:
    """Where promoter's scratch worktrees live: inside the repository's git data."""
    return git.git_common_dir() / "promoter" / "worktrees"


def remove_abandoned(git: Git, root: Path) -> list[Path]:
    """Remove the scratch worktrees under ``root`` whose owning process is gone; returns them.

    Only directories promoter made (each has an owner file beside it, naming the process)
    are considered, and only when that process no longer runs.
    """
    removed = []
    for owner in sorted(root.glob(f"*{_OWNER}")):
        path = owner.with_name(owner.name.removesuffix(_OWNER))
        try:
            identity = owner.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            continue
        if is_running(identity):
            continue
        git.worktree_remove(path)
        owner.unlink(missing_ok=True)
        removed.append(path)
        log.info("removed %s, left by promoter process %s", path.name, identity.split()[0])
    return removed


def find_dvc_root(start: Path, stop: Path) -> Path | None:
    """The nearest directory from ``start`` up to ``stop`` holding ``.dvc/`` (DVC may be
    initialised in a subdirectory of the git repository with ``dvc init --subdir``)."""
    for candidate in (start, *start.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
        if candidate == stop:
            break
    return None


def prepare_dvc(main_root: Path, worktree: Path) -> None:
    """Make DVC in ``worktree`` use the main checkout's cache, local config and remotes."""
    dvc_dir = main_root / ".dvc"
    tracked = _read(dvc_dir / "config")
    local = _read(dvc_dir / "config.local")
    text = worktree_dvc_config(dvc_dir, tracked, local)
    (worktree / ".dvc").mkdir(exist_ok=True)
    (worktree / ".dvc" / "config.local").write_text(text, encoding="utf-8")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def worktree_dvc_config(dvc_dir: Path, tracked: str, local: str) -> str:
    """The ``config.local`` of a worktree: the main one's, with paths made absolute.

    Relative local paths in DVC config (remote URLs, ``cache.dir``) are relative to the
    ``.dvc`` directory of the checkout, which a worktree does not share.
    """
    merged = _parse(tracked)
    own = _parse(local)
    for section in own.sections():
        if not merged.has_section(section):
            merged.add_section(section)
        for key, value in own.items(section):
            merged.set(section, key, value)
    out = _parse(local)
    for section in merged.sections():
        if _unquote(section).startswith("remote "):
            url = _unquote(merged.get(section, "url", fallback=""))
            if url and is_relative_path(url):
                _set(out, section, "url", str((dvc_dir / url).resolve()))
    cache_dir = _unquote(merged.get("cache", "dir", fallback="")) or "cache"
    if is_relative_path(cache_dir):
        cache_dir = str((dvc_dir / cache_dir).resolve())
    _set(out, "cache", "dir", cache_dir)
    if not merged.has_option("cache", "type"):
        _set(out, "cache", "type", f'"{_LINK_TYPES}"')
    buffer = io.StringIO()
    out.write(buffer)
    return buffer.getvalue()


def _parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(text)
    return parser


def _set(parser: configparser.ConfigParser, section: str, key: str, value: str) -> None:
    if not parser.has_section(section):
        parser.add_section(section)
    parser.set(section, key, value)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
