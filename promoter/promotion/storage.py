"""Storing the promoted models with DVC: ``dvc add``, ``dvc push``, then every object
verified present in the remote before anything is committed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.errors import PromoterError, UsageError
from promoter.promotion.record import DvcRow
from promoter.settings import Settings
from promoter.tools.dvc import Dvc, parse_dvc_pointer
from promoter.tools.worktree import find_dvc_root, prepare_dvc

if TYPE_CHECKING:
    from promoter.promotion.build import Workspace

log = logging.getLogger("promoter")


def store_models(
    settings: Settings, workspace: Workspace, paths: Sequence[str], dry_run: bool
) -> list[DvcRow]:
    """``dvc add`` the outputs at ``paths`` (project-relative) in the workspace, ``dvc push``
    them and verify every object is in the remote; nothing is committed if one is missing."""
    if not paths:
        return []
    worktree, project_dir, git = workspace.worktree, workspace.project_dir, workspace.git

    dvc_root = find_dvc_root(project_dir, worktree)
    if dvc_root is None:
        raise UsageError(
            "merge.artifacts has dvc: true but the repository has no DVC setup "
            "(run `dvc init` and `dvc remote add -d NAME URL`, and commit .dvc/)"
        )
    prepare_dvc(workspace.main_root / dvc_root.relative_to(worktree), dvc_root)
    dvc = Dvc(dvc_root)
    remote = settings.config.dvc.remote or dvc.default_remote()
    if remote is None:
        raise UsageError(
            "no DVC remote: set dvc.remote in .promoter.yml or `dvc remote add -d NAME URL`"
        )
    in_git = [_repo_rel(worktree, project_dir / p) for p in paths]
    tracked = [p for p in in_git if git.is_tracked(p)]
    if tracked:
        git.rm_cached(tracked)
    rel = [_repo_rel(dvc_root, project_dir / p) for p in paths]
    if dry_run:
        log.info("dry run: not running dvc add / dvc push for %s", ", ".join(rel))
        return []
    log.info("dvc add %s", " ".join(rel))
    dvc.add(rel)
    pointers = [f"{p}.dvc" for p in rel]
    if settings.config.dvc.push:
        log.info("dvc push -r %s", remote)
        dvc.push(pointers, remote)
    missing = dvc.missing_in_remote(pointers, remote)
    if missing:
        raise PromoterError(
            f"DVC remote {remote!r} does not hold {', '.join(missing)}: nothing was committed"
            + ("" if settings.config.dvc.push else " (dvc.push is false: push them first)")
        )
    url = dvc.remote_url(remote)
    rows = []
    for pointer in pointers:
        parsed = parse_dvc_pointer((dvc_root / pointer).read_text(encoding="utf-8"))
        for out in parsed.outs:
            rows.append(
                DvcRow(
                    path=project_rel(project_dir, dvc_root / Path(pointer).parent / out.path),
                    md5=out.dvc_md5,
                    size=out.size,
                    nfiles=out.nfiles,
                    remote=remote,
                    remote_url=url,
                    verified=True,
                )
            )
    log.info("verified in DVC remote %s: %s", remote, ", ".join(r.path for r in rows))
    return rows


def _repo_rel(worktree: Path, path: Path) -> str:
    return path.relative_to(worktree).as_posix()


def project_rel(project_dir: Path, path: Path) -> str:
    """``path`` relative to the project, as the record names files."""
    return path.resolve().relative_to(project_dir.resolve()).as_posix()
