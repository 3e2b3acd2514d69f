"""Planning a Guild-merge: a pure function from a run's files and the project's state to copies.

Planning has two steps so that each is a function of data: :func:`plan_merge` decides which
run file goes where (manifest, config), then :func:`check_targets` decides, from the state of
each target in the working tree, what is copied, skipped as identical, or refused.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

import yaml

from promoter.config import MergeConfig
from promoter.core.models import FlagValue, RunFile, RunFiles
from promoter.promotion.merge.protected import Protection, allowed, protection

PROTECTED: Final = "{reason}: a run may not change it (merge.allow lists paths it may)"
NAME_MAX: Final = 255
"""The longest file name, in bytes, the usual file systems take."""
PATH_MAX: Final = 1024
"""The longest path, in bytes, every checkout can write (macOS's limit; Linux's is 4096)."""
NAME_TOO_LONG: Final = f"a name in the path is longer than {NAME_MAX} bytes"
PATH_TOO_LONG: Final = f"the path is longer than {PATH_MAX} bytes"
NOT_A_FILE: Final = "the project has a directory there, or a file where the path needs a directory"


class FileKind(StrEnum):
    """Why a file is part of the merge."""

    SOURCE = "source"
    DEPENDENCY = "dependency"
    ARTIFACT = "artifact"
    FLAGS = "flags"


@dataclass(frozen=True, slots=True)
class Copy:
    """A run file to write at a project path."""

    run_path: str | None
    project_path: str
    kind: FileKind
    dvc: bool = False
    run_sha1: str | None = None
    content: bytes | None = None
    protected: str | None = None
    """Why git or a forge would act on this path: refused unless the target is identical."""
    replaces: bool = False
    """The copy replaces a file that exists (and differs: identical targets are skipped)."""


@dataclass(frozen=True, slots=True)
class Skip:
    """A run file that is left out, and why."""

    run_path: str
    reason: str
    project_path: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Something the merge will not do; any refusal stops the whole merge."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class MergePlan:
    """The copies to make, the files skipped, and the refusals that block the merge."""

    copies: tuple[Copy, ...] = ()
    skips: tuple[Skip, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing blocks the merge."""
        return not self.refusals


class GitState(StrEnum):
    """A target path as git sees it in the working tree."""

    ABSENT = "absent"
    CLEAN = "clean"
    CHANGED = "changed"
    UNTRACKED = "untracked"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class TargetState:
    """What is at a target path now: whether it exists, what git says, and if it is identical."""

    exists: bool
    git: GitState = GitState.ABSENT
    identical: bool = False
    symlink: bool = False
    not_a_file: bool = False
    """A directory, or a path under a file: no file can be written there."""


@dataclass(frozen=True, slots=True)
class _Mapping:
    files: list[Copy] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


def safe_relpath(path: str) -> str | None:
    """``path`` normalised as a relative POSIX path inside its root, or ``None`` if it escapes."""
    if not path or "\x00" in path or path.startswith(("/", "\\")) or "\\" in path:
        return None
    if len(path) > 1 and path[1] == ":":
        return None
    norm = posixpath.normpath(path)
    if norm in (".", "") or norm == ".." or norm.startswith("../"):
        return None
    return norm


def plan_merge(
    files: RunFiles,
    config: MergeConfig,
    flags: Mapping[str, FlagValue] | None = None,
) -> MergePlan:
    """Which run file goes to which project path, before looking at the working tree."""
    out = _Mapping()
    if config.sourcecode:
        for f in files.source:
            _add(out, f, f.project_path, FileKind.SOURCE, config)
    else:
        out.skips.extend(Skip(f.run_path, "merge.sourcecode is false") for f in files.source)
    for f in files.dependencies:
        if f.project_path is None:
            out.skips.append(Skip(f.run_path, f"not a project file ({f.uri})"))
        elif not config.dependencies:
            out.skips.append(Skip(f.run_path, "a dependency (merge.dependencies is false)"))
        else:
            _add(out, f, f.project_path, FileKind.DEPENDENCY, config)
    _map_artifacts(out, files.generated, config)
    if config.flags_file is not None and flags is not None:
        target = safe_relpath(config.flags_file)
        if target is None:
            out.refusals.append(Refusal(config.flags_file, "flags_file is outside the project"))
        else:
            keep, guarded = _guard(out, target, config.allow, skip=None)
            if keep:
                content = format_flags(flags, target)
                copy = Copy(None, target, FileKind.FLAGS, content=content, protected=guarded)
                out.files.append(copy)
    _refuse_duplicates(out)
    return MergePlan(tuple(out.files), tuple(out.skips), tuple(out.refusals))


def _add(
    out: _Mapping,
    f: RunFile,
    target: str | None,
    kind: FileKind,
    config: MergeConfig,
    dvc: bool = False,
) -> None:
    run_path = safe_relpath(f.run_path)
    if run_path is None:
        out.refusals.append(Refusal(f.run_path, "run path escapes the run directory"))
        return
    project_path = safe_relpath(target or "")
    if project_path is None:
        out.refusals.append(Refusal(target or f.run_path, "target path is outside the project"))
        return
    too_long = _too_long(project_path)
    if too_long:
        out.refusals.append(Refusal(project_path, too_long))
        return
    pattern = _excluded(project_path, run_path, config.exclude)
    if pattern:
        out.skips.append(Skip(f.run_path, f"excluded by merge.exclude {pattern!r}", project_path))
        return
    skip = None if kind is FileKind.ARTIFACT else f
    keep, guarded = _guard(out, project_path, config.allow, skip)
    if keep:
        out.files.append(Copy(run_path, project_path, kind, dvc, f.sha1, protected=guarded))


def _guard(
    out: _Mapping, project_path: str, allow: Sequence[str], skip: RunFile | None
) -> tuple[bool, str | None]:
    """Whether ``project_path`` may be planned (refusals and skips are recorded in ``out``;
    ``skip`` is the source file whose stale tool state is left out), and why a change to it
    must still be refused when the target is not identical (``None``: no reason)."""
    guard = protection(project_path)
    if guard is None:
        return True, None
    if guard.kind is Protection.TOOL_STATE and skip is not None:
        out.skips.append(Skip(skip.run_path, guard.reason, project_path))
        return False, None
    if guard.kind is not Protection.AUTOMATION:
        out.refusals.append(Refusal(project_path, guard.reason))
        return False, None
    return True, None if allowed(project_path, allow) else guard.reason


def _too_long(path: str) -> str | None:
    """Why no checkout could hold ``path`` (the write would fail half-way), or ``None``."""
    if len(path.encode("utf-8", "surrogateescape")) > PATH_MAX:
        return PATH_TOO_LONG
    if any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in path.split("/")):
        return NAME_TOO_LONG
    return None


def _no_such_file(generated: Sequence[RunFile], shown: int = 20) -> str:
    """Why an artifact's ``from`` matched nothing, with the files the run does have."""
    names = [f.run_path for f in generated]
    if not names:
        return "the run has no such generated file (it has none)"
    listed = ", ".join(names[:shown]) + (
        f" and {len(names) - shown} more" if len(names) > shown else ""
    )
    return f"the run has no such generated file; it has: {listed}"


def _excluded(project_path: str, run_path: str, patterns: Sequence[str]) -> str | None:
    for pattern in patterns:
        if fnmatch.fnmatchcase(project_path, pattern) or fnmatch.fnmatchcase(run_path, pattern):
            return pattern
    return None


def _map_artifacts(out: _Mapping, generated: Sequence[RunFile], config: MergeConfig) -> None:
    used: set[str] = set()
    for artifact in config.artifacts:
        source = safe_relpath(artifact.from_.rstrip("/"))
        if source is None:
            out.refusals.append(Refusal(artifact.from_, "'from' escapes the run directory"))
            continue
        matched = [
            f for f in generated if f.run_path == source or f.run_path.startswith(source + "/")
        ]
        if not matched:
            out.refusals.append(Refusal(artifact.from_, _no_such_file(generated)))
            continue
        for f in matched:
            rest = f.run_path[len(source) :].lstrip("/")
            target = posixpath.join(artifact.to, rest) if rest else artifact.to
            used.add(f.run_path)
            _add(out, f, target, FileKind.ARTIFACT, config, artifact.dvc)
    out.skips.extend(
        Skip(f.run_path, "generated file not in merge.artifacts")
        for f in generated
        if f.run_path not in used
    )


STALE_OUTPUT: Final = "the run's snapshot of a generated output: written from its results"


def _refuse_duplicates(out: _Mapping) -> None:
    """Outputs (flags file, artifacts) own their paths: a source file at one is the run's
    stale copy of an earlier promotion's output and is skipped; two outputs at one path, or
    a file inside a DVC-tracked artifact, are refused."""
    outputs = [c for c in out.files if c.kind in (FileKind.FLAGS, FileKind.ARTIFACT)]
    output_paths = {c.project_path for c in outputs}
    output_dirs = [c.project_path for c in outputs if c.dvc]
    kept: list[Copy] = []
    for copy in out.files:
        source = copy.kind in (FileKind.SOURCE, FileKind.DEPENDENCY)
        shadowed = copy.project_path in output_paths or any(
            copy.project_path.startswith(d + "/") for d in output_dirs
        )
        if source and shadowed:
            out.skips.append(Skip(copy.run_path or "", STALE_OUTPUT, copy.project_path))
        else:
            kept.append(copy)
    out.files[:] = kept
    seen: dict[str, Copy] = {}
    for copy in out.files:
        first = seen.setdefault(copy.project_path, copy)
        if first is not copy:
            out.refusals.append(
                Refusal(
                    copy.project_path,
                    f"written twice (from {first.run_path or 'the flags'} and "
                    f"{copy.run_path or 'the flags'}): check merge.artifacts and "
                    "merge.flags_file",
                )
            )
    for copy in out.files:
        if not copy.dvc and any(copy.project_path.startswith(d + "/") for d in output_dirs):
            out.refusals.append(Refusal(copy.project_path, "inside a DVC-tracked artifact"))


_IGNORED_NEW = "is ignored by git, so the commit would leave it out (--replace writes it anyway)"
_IGNORED_NEW_DVC = (
    "its .dvc file would be ignored by git, which `dvc add` refuses: "
    "un-ignore its directory or change merge.artifacts"
)


def check_targets(
    plan: MergePlan, states: Mapping[str, TargetState], replace_changed: bool = False
) -> MergePlan:
    """Skip identical targets and refuse the ones a copy would clobber.

    A target with uncommitted changes (modified, staged or untracked) or ignored by git (a
    DVC-managed model, say) is refused unless ``replace_changed``; so is a new file that git
    would ignore (for a DVC output: whose ``.dvc`` file git would ignore), which the promotion
    commit could not hold; a symlink is always refused.
    """
    copies: list[Copy] = []
    skips = list(plan.skips)
    refusals = list(plan.refusals)
    for copy in plan.copies:
        state = states.get(copy.project_path, TargetState(exists=False))
        if state.symlink:
            refusals.append(Refusal(copy.project_path, "the target is a symlink"))
        elif state.not_a_file:
            refusals.append(Refusal(copy.project_path, NOT_A_FILE))
        elif state.exists and state.identical:
            skips.append(Skip(copy.run_path or copy.project_path, "identical", copy.project_path))
        elif copy.protected is not None:
            refusals.append(Refusal(copy.project_path, PROTECTED.format(reason=copy.protected)))
        elif state.exists and not replace_changed and state.git is GitState.CHANGED:
            refusals.append(
                Refusal(copy.project_path, "has uncommitted changes (commit or stash them)")
            )
        elif state.exists and not replace_changed and state.git is GitState.UNTRACKED:
            refusals.append(Refusal(copy.project_path, "is untracked and differs from the run's"))
        elif state.exists and not replace_changed and state.git is GitState.IGNORED:
            refusals.append(
                Refusal(copy.project_path, "is ignored by git (not source); use --replace")
            )
        elif not replace_changed and state.git is GitState.IGNORED:
            refusals.append(
                Refusal(copy.project_path, _IGNORED_NEW_DVC if copy.dvc else _IGNORED_NEW)
            )
        else:
            copies.append(copy)
    return replace(plan, copies=tuple(copies), skips=tuple(skips), refusals=tuple(refusals))


def format_flags(flags: Mapping[str, FlagValue], path: str) -> bytes:
    """The run's flags as a file: JSON for ``.json``, else YAML, keys sorted."""
    ordered = {k: flags[k] for k in sorted(flags)}
    if path.endswith(".json"):
        return (json.dumps(ordered, indent=2, sort_keys=True) + "\n").encode()
    text: str = yaml.safe_dump(ordered, sort_keys=True, default_flow_style=False)
    return text.encode()
