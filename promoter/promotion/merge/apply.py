"""Carrying out a merge plan on disk: target states in, files written out, nothing outside."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from promoter.errors import PromoterError
from promoter.promotion.merge.plan import Copy, GitState, MergePlan, Refusal, TargetState

_CHUNK = 1 << 20


class MergeRefused(PromoterError):
    """The merge would clobber work or escape the project; every reason is listed."""

    def __init__(self, refusals: Iterable[Refusal]) -> None:
        self.refusals = tuple(refusals)
        lines = "\n".join(f"  {r.path}: {r.reason}" for r in self.refusals)
        super().__init__(f"merge refused, nothing was changed:\n{lines}")


@dataclass(frozen=True, slots=True)
class Written:
    """A file the merge wrote: its project path, size and sha256 (not for DVC outputs)."""

    copy: Copy
    size: int
    sha256: str | None


def inside(root: Path, path: Path) -> bool:
    """True when ``path`` (symlinks resolved) is ``root`` or below it; ``root`` must already
    be resolved (callers resolve it once, not once per file)."""
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def git_state(code: str | None, ignored: bool) -> GitState:
    """A porcelain status code (``' M'``, ``'??'``, or ``None`` when clean) as a GitState."""
    if ignored:
        return GitState.IGNORED
    if code is None:
        return GitState.CLEAN
    if code == "??":
        return GitState.UNTRACKED
    return GitState.CHANGED


def target_states(
    project: Path,
    run_dir: Path,
    plan: MergePlan,
    git_codes: Mapping[str, str] | None,
    is_ignored: Callable[[str], bool],
) -> dict[str, TargetState]:
    """What is at every target now; ``git_codes`` is ``None`` outside a git repository."""
    states: dict[str, TargetState] = {}
    for copy in plan.copies:
        target = project / copy.project_path
        try:
            info = target.lstat()
        except FileNotFoundError:
            # A new file git would ignore cannot be committed (for a DVC output: its .dvc file).
            ignored = git_codes is not None and is_ignored(copy.project_path)
            states[copy.project_path] = TargetState(
                exists=False, git=GitState.IGNORED if ignored else GitState.ABSENT
            )
            continue
        except NotADirectoryError:  # a parent is a file
            states[copy.project_path] = TargetState(exists=True, not_a_file=True)
            continue
        if stat.S_ISLNK(info.st_mode):
            states[copy.project_path] = TargetState(exists=True, symlink=True)
            continue
        if stat.S_ISDIR(info.st_mode):
            states[copy.project_path] = TargetState(exists=True, not_a_file=True)
            continue
        if git_codes is None:
            state = GitState.UNTRACKED
        else:
            code = git_codes.get(copy.project_path)
            state = git_state(code, code is None and is_ignored(copy.project_path))
        same = stat.S_ISREG(info.st_mode) and _identical(target, info.st_size, copy, run_dir)
        states[copy.project_path] = TargetState(exists=True, git=state, identical=same)
    return states


def _identical(target: Path, size: int, copy: Copy, run_dir: Path) -> bool:
    if copy.content is not None:
        return size == len(copy.content) and target.read_bytes() == copy.content
    source = run_dir / (copy.run_path or "")
    try:
        if source.stat().st_size != size:
            return False
    except OSError:
        return False
    if copy.run_sha1 is not None:
        return file_digest(target, "sha1") == copy.run_sha1
    return file_digest(target, "sha256") == file_digest(source, "sha256")


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest of a file, read in chunks (a model can be gigabytes)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def check_sources(run_dir: Path, plan: MergePlan) -> list[Refusal]:
    """Run files that are symlinks (or under one), or not regular files.

    Run paths are normalised and relative (the plan refuses ``..``), so a path without a
    symlink in it cannot resolve outside the run: one ``lstat`` per file and per directory,
    each directory's answer kept (thousands of files share a few directories).
    """
    refusals: list[Refusal] = []
    linked: dict[str, bool] = {}
    for copy in plan.copies:
        if copy.run_path is None:
            continue
        parts = copy.run_path.split("/")
        dirs = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
        if any(_is_link(run_dir, d, linked) for d in dirs):
            refusals.append(Refusal(copy.run_path, "the run file is under a symlink (not copied)"))
            continue
        try:
            mode = (run_dir / copy.run_path).lstat().st_mode
        except OSError:
            mode = 0
        if stat.S_ISLNK(mode):
            refusals.append(Refusal(copy.run_path, "the run file is a symlink (not copied)"))
        elif not stat.S_ISREG(mode):
            refusals.append(Refusal(copy.run_path, "the run file is missing or not a file"))
    return refusals


def _is_link(root: Path, relpath: str, known: dict[str, bool]) -> bool:
    if relpath not in known:
        try:
            known[relpath] = stat.S_ISLNK((root / relpath).lstat().st_mode)
        except OSError:
            known[relpath] = False
    return known[relpath]


def check_destinations(project: Path, plan: MergePlan) -> list[Refusal]:
    """Targets whose directories lead outside the project through a symlink."""
    root = project.resolve()
    return [
        Refusal(c.project_path, "the target resolves outside the project")
        for c in plan.copies
        if not inside(root, project / c.project_path)
    ]


def apply_plan(project: Path, run_dir: Path, plan: MergePlan) -> list[Written]:
    """Write every copy of a checked plan; raises MergeRefused before writing anything if the
    plan has refusals or any source or target fails the safety checks."""
    refusals = [*plan.refusals, *check_sources(run_dir, plan), *check_destinations(project, plan)]
    if refusals:
        raise MergeRefused(refusals)
    root = project.resolve()
    return [_write(project, root, run_dir, copy) for copy in plan.copies]


def _write(project: Path, root: Path, run_dir: Path, copy: Copy) -> Written:
    target = project / copy.project_path
    target.parent.mkdir(parents=True, exist_ok=True)
    if not inside(root, target.parent):
        raise MergeRefused([Refusal(copy.project_path, "the target resolves outside the project")])
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size, digest = _fill(out, run_dir, copy)
        if copy.run_path is not None:
            shutil.copymode(run_dir / copy.run_path, tmp)
        else:
            tmp.chmod(0o644)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Written(copy, size, digest)


def _fill(out: BinaryIO, run_dir: Path, copy: Copy) -> tuple[int, str | None]:
    if copy.content is not None:
        out.write(copy.content)
        return len(copy.content), hashlib.sha256(copy.content).hexdigest()
    source = run_dir / (copy.run_path or "")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(source, flags), "rb") as src:
        if copy.dvc:
            return _send(src.fileno(), out), None
        digest = hashlib.sha256()
        size = 0
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _send(source_fd: int, out: BinaryIO) -> int:
    """Copy in the kernel (sendfile): DVC hashes the file itself, so no hashing here."""
    out.flush()
    size = os.fstat(source_fd).st_size
    sent = 0
    while sent < size:
        n = os.sendfile(out.fileno(), source_fd, sent, min(size - sent, 1 << 30))
        if n == 0:
            break
        sent += n
    return sent
