"""The Guild-merge of one run into a working tree: plan, check against git, then write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from promoter.errors import PromoterError
from promoter.promotion.merge.apply import MergeRefused, Written, apply_plan, target_states
from promoter.promotion.merge.plan import MergePlan, check_targets, plan_merge
from promoter.runs.base import RunStore
from promoter.settings import Settings
from promoter.tools.git import Git, path_prefix

log = logging.getLogger("promoter")


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """The checked plan and, unless previewing, the files written."""

    plan: MergePlan
    written: tuple[Written, ...]


def merge_into_project(
    settings: Settings,
    store: RunStore,
    run_id: str,
    *,
    preview: bool = False,
    replace_changed: bool = False,
) -> MergeOutcome:
    """The Guild-merge of one run into the project (``promoter merge``)."""
    from promoter.candidates import find_run

    run = find_run(store, run_id)
    plan = plan_merge(store.run_files(run), settings.config.merge, run.flags)
    run_dir = store.materialize(run, needed_run_files(plan))
    return merge_run(
        settings.project, run_dir, plan, preview=preview, replace_changed=replace_changed
    )


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
) -> MergeOutcome:
    """Carry out ``plan`` from ``run_dir`` into ``project``: every refusal is raised at once,
    before any write."""
    codes, ignored = _git_view(project, plan)
    states = target_states(project, run_dir, plan, codes, ignored.__contains__)
    checked = check_targets(plan, states, replace_changed)
    if preview:
        return MergeOutcome(checked, ())
    if not checked.ok:
        raise MergeRefused(checked.refusals)
    written = apply_plan(project, run_dir, checked)
    for w in written:
        log.debug("wrote %s (%s, %d bytes)", w.copy.project_path, w.copy.kind, w.size)
    return MergeOutcome(checked, tuple(written))


def _git_view(project: Path, plan: MergePlan) -> tuple[dict[str, str] | None, set[str]]:
    """Porcelain codes and ignored paths of the targets, keyed by project-relative path."""
    git = Git(project)
    try:
        prefix = path_prefix(git.toplevel(), project)
    except PromoterError:
        return None, set()
    paths = [c.project_path for c in plan.copies]
    if not paths:
        return {}, set()
    codes = {
        path[len(prefix) :]: code
        for path, code in git.status([prefix + p for p in paths]).items()
        if path.startswith(prefix)
    }
    present = [p for p in paths if p not in codes and (project / p).exists()]
    ignored = {p[len(prefix) :] for p in git.ignored([prefix + p for p in present])}
    return codes, ignored
