"""The Guild-merge of one run into a working tree: plan, check against git, then write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from promoter.config import MergeConfig
from promoter.core.models import Run, RunFiles
from promoter.errors import PromoterError
from promoter.promotion.merge.apply import MergeRefused, Written, apply_plan, target_states
from promoter.promotion.merge.plan import MergePlan, check_targets, plan_merge, safe_relpath
from promoter.tools.git import Git, path_prefix

log = logging.getLogger("promoter")


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """The checked plan and, unless previewing, the files written."""

    plan: MergePlan
    written: tuple[Written, ...]


def merge_run(
    project: Path,
    run: Run,
    run_dir: Path,
    files: RunFiles,
    config: MergeConfig,
    *,
    preview: bool = False,
    replace_changed: bool = False,
) -> MergeOutcome:
    """Merge ``run`` into ``project``: every refusal is raised at once, before any write."""
    plan = plan_merge(files, config, run.flags)
    codes, ignored = _git_view(project, plan, config)
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


def _git_view(
    project: Path, plan: MergePlan, config: MergeConfig
) -> tuple[dict[str, str] | None, set[str]]:
    """Porcelain codes and ignored paths of the targets, keyed by project-relative path.

    A DVC output's own path is git-ignored by design (dvc adds it to .gitignore): a new one
    counts as ignored when its ``.dvc`` file would be, which is what makes ``dvc add`` fail.
    """
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
    new = [c for c in plan.copies if not (project / c.project_path).exists()]
    roots = [r for a in config.artifacts if a.dvc and (r := safe_relpath(a.to.rstrip("/")))]
    pointers = {
        c.project_path: f"{root}.dvc"
        for c in new
        if c.dvc
        for root in roots
        if c.project_path == root or c.project_path.startswith(root + "/")
    }
    asked = [*present, *(c.project_path for c in new if not c.dvc), *pointers.values()]
    found = {p[len(prefix) :] for p in git.ignored([prefix + p for p in dict.fromkeys(asked)])}
    ignored = {p for p in [*present, *(c.project_path for c in new)] if p in found}
    ignored |= {path for path, pointer in pointers.items() if pointer in found}
    return codes, ignored
