"""The Guild-merge of one run into a working tree: plan, check against git, then write."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from promoter.config import MergeConfig
from promoter.errors import PromoterError
from promoter.promotion.merge.apply import MergeRefused, Written, apply_plan, target_states
from promoter.promotion.merge.plan import (
    Copy,
    FileKind,
    MergePlan,
    Skip,
    check_targets,
    plan_merge,
    safe_relpath,
)
from promoter.promotion.merge.source import (
    MergeInputs,
    MergeMode,
    SourceMerge,
    check_merge,
    merge_source,
    three_way_possible,
)
from promoter.runs.base import RunStore
from promoter.settings import Settings
from promoter.tools.git import Git, path_prefix

log = logging.getLogger("promoter")


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """The checked plan and, unless previewing, the files written; how the source came."""

    plan: MergePlan
    written: tuple[Written, ...]
    source: SourceMerge | None = None


def merge_into_project(
    settings: Settings,
    store: RunStore,
    run_id: str,
    *,
    preview: bool = False,
    replace_changed: bool = False,
) -> MergeOutcome:
    """The Guild-merge of one run into the project (``promoter merge``): the run's changes
    merged three ways with the checkout's ``HEAD`` when its commit is here, else its
    snapshot copied; only files the merge changes are written, never deleted."""
    from promoter.candidates import find_run

    run = find_run(store, run_id)
    settings = settings.for_operation(run.op)
    config = settings.config.merge
    plan = plan_merge(store.run_files(run), config, run.flags)
    run_dir = store.materialize(run, needed_run_files(plan))
    git = Git(settings.project)
    prefix = path_prefix(git.toplevel(), settings.project)
    inputs = MergeInputs(
        git,
        None,
        git.head(),
        "HEAD",
        prefix,
        config.allow,
        config.on_conflict == "run",
    )
    reason = three_way_possible(inputs, run.source_commit)
    if reason is not None or run.source_commit is None:
        outcome = merge_run(
            settings.project,
            run_dir,
            plan,
            preview=preview,
            replace_changed=replace_changed,
            dvc_roots=dvc_outputs(config),
        )
        return replace(outcome, source=copied(run.source_commit, reason or "", outcome))
    tree, merged = merge_source(inputs, run.id, run.source_commit, run_dir, plan)
    if not preview:
        check_merge(merged, "HEAD")
    merged_plan = _merged_plan(git, tree, merged, plan, prefix)
    outcome = merge_run(
        settings.project,
        run_dir,
        merged_plan,
        preview=preview,
        replace_changed=replace_changed,
        dvc_roots=dvc_outputs(config),
    )
    return replace(outcome, source=merged)


def copied(commit: str | None, reason: str, outcome: MergeOutcome) -> SourceMerge:
    """A copy of the snapshot: the files whose copy replaces a different version."""
    sources = (FileKind.SOURCE, FileKind.DEPENDENCY)
    replaced = tuple(
        c.project_path for c in outcome.plan.copies if c.kind in sources and c.replaces
    )
    return SourceMerge(MergeMode.COPY, commit, reason, replaced=replaced)


def _merged_plan(
    git: Git, tree: str, merged: SourceMerge, plan: MergePlan, prefix: str
) -> MergePlan:
    """``plan`` with its source copies replaced by the merge's result for the project."""
    sources = (FileKind.SOURCE, FileKind.DEPENDENCY)
    copies = [c for c in plan.copies if c.kind not in sources]
    skips = list(plan.skips)
    for status, path in merged.changed:
        if not path.startswith(prefix):
            skips.append(Skip(path, "outside the project (promote brings it on the branch)"))
        elif status == "D":
            skips.append(Skip(path, "deleted on the run's side: left in place", path))
        else:
            content = git.show_file(tree, path) or b""
            copies.append(Copy(None, path.removeprefix(prefix), FileKind.SOURCE, content=content))
    refusals = (*plan.refusals, *merged.refusals)
    return MergePlan(tuple(copies), tuple(skips), refusals)


def needed_run_files(plan: MergePlan) -> list[str]:
    """The run files a plan copies: all that a remote store must fetch for the merge."""
    return [c.run_path for c in plan.copies if c.run_path is not None]


def merge_run(
    project: Path,
    run_dir: Path,
    plan: MergePlan,
    *,
    preview: bool = False,
    replace_changed: bool = False,
    dvc_roots: Sequence[str] = (),
) -> MergeOutcome:
    """Carry out ``plan`` from ``run_dir`` into ``project``: every refusal is raised at once,
    before any write. ``dvc_roots`` are the DVC outputs (see :func:`dvc_outputs`)."""
    codes, ignored = _git_view(project, plan, dvc_roots)
    states = target_states(project, run_dir, plan, codes, ignored.__contains__)
    checked = check_targets(plan, states, replace_changed)
    checked = replace(
        checked,
        copies=tuple(
            replace(c, replaces=states[c.project_path].exists) if c.project_path in states else c
            for c in checked.copies
        ),
    )
    if preview:
        return MergeOutcome(checked, ())
    if not checked.ok:
        raise MergeRefused(checked.refusals)
    written = apply_plan(project, run_dir, checked)
    for w in written:
        log.debug("wrote %s (%s, %d bytes)", w.copy.project_path, w.copy.kind, w.size)
    return MergeOutcome(checked, tuple(written))


def _git_view(
    project: Path, plan: MergePlan, dvc_outputs: Sequence[str]
) -> tuple[dict[str, str] | None, set[str]]:
    """Porcelain codes and ignored paths of the targets, keyed by project-relative path.

    A DVC output's own path is git-ignored by design (dvc adds it to .gitignore): a new one
    counts as ignored when its ``.dvc`` file would be, which is what makes ``dvc add`` fail.
    """
    try:
        top = Git(project).toplevel()
    except PromoterError:
        return None, set()
    # From the top: pathspecs are read from git's working directory, and status names paths
    # from the top, so a project in a subdirectory would otherwise ask about sub/sub/...
    git = Git(top)
    prefix = path_prefix(top, project)
    paths = [c.project_path for c in plan.copies]
    if not paths:
        return {}, set()
    codes = {
        path[len(prefix) :]: code
        for path, code in git.status([prefix + p for p in paths]).items()
        if path.startswith(prefix)
    }
    present = [p for p in paths if p not in codes and (project / p).exists()]
    new = [c for c in plan.copies if not (project / c.project_path).exists()]
    pointers = {
        c.project_path: f"{root}.dvc"
        for c in new
        if c.dvc
        for root in dvc_outputs
        if c.project_path == root or c.project_path.startswith(root + "/")
    }
    asked = [*present, *(c.project_path for c in new if not c.dvc), *pointers.values()]
    found = {p[len(prefix) :] for p in git.ignored([prefix + p for p in dict.fromkeys(asked)])}
    ignored = {p for p in [*present, *(c.project_path for c in new)] if p in found}
    ignored |= {path for path, pointer in pointers.items() if pointer in found}
    return codes, ignored


def dvc_outputs(config: MergeConfig) -> list[str]:
    """The project paths of the ``dvc: true`` artifacts: each one DVC output."""
    return [r for a in config.artifacts if a.dvc and (r := safe_relpath(a.to.rstrip("/")))]
