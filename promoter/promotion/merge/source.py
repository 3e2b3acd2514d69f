"""The run's source brought onto a base that moved on: git's own three-way merge.

A run's source snapshot is its commit (``vcs_commit``) plus whatever was uncommitted when it
started. Its **changes** are what a promotion brings, never its staleness: a commit made of
the snapshot on top of the run's commit is merged with the base (``git merge-tree``, no
checkout touched), so what the base changed since the run started is kept. A file both
changed differently is a conflict. When the run's commit cannot be had (never pushed, or the
run has none), the snapshot is copied over the base instead and every file whose copy
replaces a different version is listed, so a reviewer sees each revert.
"""

from __future__ import annotations

import logging
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

from promoter.errors import PromoterError
from promoter.promotion.merge.apply import MergeRefused
from promoter.promotion.merge.plan import PROTECTED, Copy, FileKind, MergePlan, Refusal
from promoter.promotion.merge.protected import Protection, allowed, protection
from promoter.tools.git import Git

log = logging.getLogger("promoter")

SNAPSHOT_MESSAGE: Final = "Source of run {run}, as it started (its commit {commit} + uncommitted)"
CONFLICT: Final = (
    "the run and {base} both changed {files} differently since the run's commit {commit}: "
    "nothing was pushed. Merge {base} into the run's branch and train again, or set "
    "merge.on_conflict: run to take the run's version (the PR then lists each such file)."
)
NO_COMMIT: Final = "the run recorded no git commit"
NOT_IN_REMOTE: Final = "the run's commit {commit} is not in the remote"
OLD_GIT: Final = "git is older than 2.38 (no merge-tree --write-tree)"


class MergeMode(StrEnum):
    """How the run's source reached the branch."""

    THREE_WAY = "three-way"
    COPY = "copy"


class MergeConflict(PromoterError):
    """The run and the base changed the same files differently; nothing was pushed."""

    def __init__(self, files: Sequence[str], message: str) -> None:
        self.files = tuple(files)
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SourceMerge:
    """What the source merge did, for the record and the PR."""

    mode: MergeMode
    source_commit: str | None = None
    reason: str = ""
    """Why the snapshot was copied (``COPY``)."""
    changed: tuple[tuple[str, str], ...] = ()
    """``(status, repository path)`` the merge changes on the base (``THREE_WAY``): A, M, D."""
    conflicts: tuple[str, ...] = ()
    """Files both changed differently, left unresolved (``merge.on_conflict: stop``)."""
    refusals: tuple[Refusal, ...] = ()
    """Changes a run may not make (automation paths)."""
    taken_from_run: tuple[str, ...] = ()
    """Conflicted files resolved with the run's version (``merge.on_conflict: run``)."""
    replaced: tuple[str, ...] = field(default_factory=tuple)
    """Project paths whose copy replaced a different version on the base (``COPY``)."""


@dataclass(frozen=True, slots=True)
class MergeInputs:
    """The repository side of a source merge."""

    git: Git
    """Git in the checkout the merge lands in (a scratch worktree of the base)."""
    remote: str | None
    base: str
    """The base's commit (``HEAD`` of that checkout)."""
    base_name: str
    prefix: str
    """The project's directory in the repository (``""`` or ``"sub/"``)."""
    allow: Sequence[str] = ()
    take_run_on_conflict: bool = False


def three_way_possible(inputs: MergeInputs, commit: str | None) -> str | None:
    """``None`` when the run's commit can be had (here, or fetched from the remote: a CI
    checkout is often shallow), else why the snapshot must be copied instead."""
    if not commit:
        return NO_COMMIT
    if not inputs.git.has_commit(commit):
        if inputs.remote is None:
            return NOT_IN_REMOTE.format(commit=commit[:12])
        try:
            inputs.git.fetch(inputs.remote, [commit])
        except PromoterError:
            return NOT_IN_REMOTE.format(commit=commit[:12])
    if inputs.git.merged_tree(commit, commit) is None:
        return OLD_GIT
    return None


def merge_source(
    inputs: MergeInputs, run_id: str, commit: str, run_dir: Path, plan: MergePlan
) -> tuple[str, SourceMerge]:
    """The tree of the base with the run's changes merged in, written to the object store
    only (nothing checked out): what changes, which files conflict, which changes are
    refused. Output paths (flags file, artifacts) keep the base's version: they are written
    afterwards from the run's results."""
    git, prefix = inputs.git, inputs.prefix
    sources = [c for c in plan.copies if c.kind in (FileKind.SOURCE, FileKind.DEPENDENCY)]
    outputs = [prefix + c.project_path for c in plan.copies if c not in sources]
    with tempfile.TemporaryDirectory(prefix="promoter-index-") as scratch:
        index = git.with_index(Path(scratch) / "index")
        snapshot = _snapshot(index, commit, run_dir, sources, prefix, run_id)
        tree, conflicts = git.merge_trees(inputs.base, snapshot)
        conflicts = [p for p in conflicts if p not in outputs]
        taken = conflicts if inputs.take_run_on_conflict else []
        fixes = _entries(git, snapshot, taken) + _entries(git, inputs.base, outputs)
        if fixes:
            index.read_tree(tree)
            index.set_index_entries(fixes)
            tree = index.write_tree()
    changed = git.changed_paths(inputs.base, tree)
    merged = SourceMerge(
        MergeMode.THREE_WAY,
        commit,
        changed=tuple(changed),
        conflicts=tuple(p for p in conflicts if p not in taken),
        refusals=tuple(_protected([path for _, path in changed], inputs)),
        taken_from_run=tuple(taken),
    )
    log.info(
        "three-way merge of run %s (commit %s) onto %s: %d files changed, %d conflicts%s",
        run_id[:8],
        commit[:12],
        inputs.base_name,
        len(changed),
        len(conflicts),
        " (the run's version taken)" if taken else "",
    )
    return tree, merged


def check_merge(merged: SourceMerge, base_name: str) -> None:
    """Raise what stops the promotion: refused changes, then unresolved conflicts."""
    if merged.refusals:
        raise MergeRefused(merged.refusals)
    if merged.conflicts:
        files = merged.conflicts
        shown = ", ".join(files[:10]) + (" ..." if len(files) > 10 else "")
        commit = (merged.source_commit or "")[:12]
        raise MergeConflict(files, CONFLICT.format(base=base_name, files=shown, commit=commit))


def _snapshot(
    index: Git, commit: str, run_dir: Path, sources: Sequence[Copy], prefix: str, run_id: str
) -> str:
    """A commit on the run's commit whose files are the run's snapshot."""
    index.read_tree(commit)
    files = [run_dir / (c.run_path or "") for c in sources]
    blobs = index.hash_objects(files)
    index.set_index_entries(
        [
            (_mode(f), blob, prefix + c.project_path)
            for f, blob, c in zip(files, blobs, sources, strict=True)
        ]
    )
    message = SNAPSHOT_MESSAGE.format(run=run_id, commit=commit[:12])
    return index.commit_tree(index.write_tree(), [commit], message)


def _mode(path: Path) -> str:
    return "100755" if path.stat().st_mode & stat.S_IXUSR else "100644"


def _entries(git: Git, tree: str, paths: Sequence[str]) -> list[tuple[str, str, str]]:
    """Index entries that make ``paths`` what they are in ``tree`` (absent: removed)."""
    found = git.tree_entries(tree, paths)
    return [(*found[p], p) if p in found else ("0", "", p) for p in paths]


def _protected(changed: Iterable[str], inputs: MergeInputs) -> list[Refusal]:
    refusals = []
    for path in changed:
        guard = protection(path)
        inside = path.removeprefix(inputs.prefix) if path.startswith(inputs.prefix) else path
        if guard is None or guard.kind is Protection.TOOL_STATE:
            continue
        if guard.kind is Protection.AUTOMATION and allowed(inside, inputs.allow):
            continue
        refusals.append(Refusal(path, PROTECTED.format(reason=guard.reason)))
    return refusals
