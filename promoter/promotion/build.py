"""Building the promotion commit in a worktree: merge, DVC, plots, record, commit."""

from __future__ import annotations

import fnmatch
import logging
import platform
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

from promoter import __version__
from promoter.api import Settings
from promoter.config import ArtifactConfig
from promoter.core.models import Run, RunFiles
from promoter.core.selection import Selection
from promoter.errors import PromoterError, UsageError
from promoter.forges.base import Forge, marker
from promoter.promotion.merge.apply import Written, inside
from promoter.promotion.merge.plan import safe_relpath
from promoter.promotion.merge.run import merge_run
from promoter.promotion.record import (
    DvcRow,
    FileRow,
    PlotRow,
    PrInfo,
    PromotionRecord,
    TriggerInfo,
    record_to_builtins,
)
from promoter.promotion.record_builder import (
    PromotionFacts,
    build_record,
    champion_document,
    record_dir,
    record_path,
)
from promoter.runs.guild.store import GuildRunStore
from promoter.tools.git import Git

log = logging.getLogger("promoter")

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class BuiltBranch:
    """The promotion commit and its record."""

    commit: str
    record: PromotionRecord


def build_branch(
    *,
    settings: Settings,
    selection: Selection,
    listing_runs: Sequence[Run],
    store: GuildRunStore,
    worktree: Path,
    project_dir: Path,
    main_root: Path,
    git: Git,
    trigger: TriggerInfo,
    pr: PrInfo,
    dry_run: bool,
) -> BuiltBranch:
    """Merge the winner into ``project_dir``, store its models, write the record, commit."""
    assert selection.winner is not None
    run = selection.winner.run
    config = settings.config
    run_dir = store.runs_dir / run.id
    files = store.run_files(run)
    log.info("merging run %s into a worktree of %s", run.short_id, pr.base)
    outcome = merge_run(project_dir, run, run_dir, files, config.merge)
    written = outcome.written
    dvc_paths = _dvc_outputs(config.merge.artifacts, written)
    if dvc_paths:
        _warm_up_plotting()
    dvc_rows = _store_models(settings, worktree, project_dir, main_root, git, dvc_paths, dry_run)
    out_dir = project_dir / record_dir(run.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    champion = selection.champion.champion if selection.champion else None
    champion_run = next((r for r in listing_runs if champion and r.id == champion.run_id), None)
    plots = _plots(
        selection, champion_run, run_dir, files, out_dir, project_dir, config.merge.plots
    )
    facts = PromotionFacts(
        provenance=store.provenance(run),
        run_files=files,
        files=[_file_row(w) for w in written if not w.copy.dvc],
        dvc=dvc_rows,
        plots=plots,
        trigger=trigger,
        pr=PrInfo(branch=pr.branch, base=pr.base, title=pr.title, source_commit=git.head()),
        tools=_tools(),
        champion_run=champion_run,
        champion_model_md5=champion.model_md5 if champion else None,
    )
    record = build_record(selection, facts)
    _write_yaml(out_dir / "record.yaml", record_to_builtins(record))
    _write_yaml(project_dir / ".promoter" / "champion.yaml", champion_document(record))
    git.add(["."])
    message = f"{pr.title}\n\n{selection.summary}\n"
    trailers = {
        "Promoter-Run": run.id,
        "Promoter-Op": run.op,
        "Promoter-Objective": f"{record.objective.name}={record.objective.value}",
        "Promoter-Version": __version__,
    }
    commit = git.commit(message, trailers)
    log.info("committed %s on top of %s", commit[:12], pr.base)
    return BuiltBranch(commit, record)


def _warm_up_plotting() -> None:
    """Import matplotlib (~0.3 s) in a thread while dvc runs in its own processes."""
    import threading

    def load() -> None:
        import matplotlib.backends.backend_agg
        import matplotlib.figure  # noqa: F401

    threading.Thread(target=load, name="promoter-warm-up", daemon=True).start()


def _dvc_outputs(artifacts: Sequence[ArtifactConfig], written: Sequence[Written]) -> list[str]:
    """One DVC output per ``dvc: true`` artifact: a file, or a whole directory."""
    paths = {w.copy.project_path for w in written if w.copy.dvc}
    outputs = []
    for artifact in artifacts:
        target = safe_relpath(artifact.to)
        if (
            artifact.dvc
            and target
            and any(p == target or p.startswith(target + "/") for p in paths)
        ):
            outputs.append(target)
    return outputs


def _store_models(
    settings: Settings,
    worktree: Path,
    project_dir: Path,
    main_root: Path,
    git: Git,
    paths: Sequence[str],
    dry_run: bool,
) -> list[DvcRow]:
    if not paths:
        return []
    from promoter.tools.dvc import Dvc, parse_dvc_pointer
    from promoter.tools.worktree import find_dvc_root, prepare_dvc

    dvc_root = find_dvc_root(project_dir, worktree)
    if dvc_root is None:
        raise UsageError(
            "merge.artifacts has dvc: true but the repository has no DVC setup "
            "(run `dvc init` and `dvc remote add -d NAME URL`, and commit .dvc/)"
        )
    prepare_dvc(main_root / dvc_root.relative_to(worktree), dvc_root)
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
                    path=_project_rel(project_dir, dvc_root / Path(pointer).parent / out.path),
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


def _project_rel(project_dir: Path, path: Path) -> str:
    return path.resolve().relative_to(project_dir.resolve()).as_posix()


def _file_row(w: Written) -> FileRow:
    return FileRow(
        path=w.copy.project_path,
        kind=w.copy.kind.value,
        sha256=w.sha256 or "",
        size=w.size,
    )


def _plots(
    selection: Selection,
    champion_run: Run | None,
    run_dir: Path,
    files: RunFiles,
    out_dir: Path,
    project_dir: Path,
    patterns: Sequence[str],
) -> list[PlotRow]:
    from promoter.promotion.plots import draw_curves

    assert selection.winner is not None
    run = selection.winner.run
    policy = selection.policy
    names = [policy.objective.scalar.name]
    names += [ref.name for c in policy.criteria for ref in c.scalars()]
    series = {n: s for n in dict.fromkeys(names) if (s := run.scalar(n)) is not None}
    champion = selection.champion
    recorded = dict(champion.champion.scalars) if champion else None
    theirs = None
    if champion_run is not None:
        theirs = {n: s for n in series if (s := champion_run.scalar(n)) is not None}
    rows = [
        PlotRow(title=title, path=_project_rel(project_dir, path), source="curve")
        for title, path in draw_curves(series, out_dir, recorded, theirs)
    ]
    run_root = run_dir.resolve()
    for f in files.generated:
        if not any(fnmatch.fnmatchcase(f.run_path, p) for p in patterns):
            continue
        source = run_dir / f.run_path
        if source.is_symlink() or not inside(run_root, source) or not source.is_file():
            log.warning("warning: plot %s skipped (a symlink or outside the run)", f.run_path)
            continue
        target = out_dir / ("run-" + _UNSAFE_NAME.sub("-", f.run_path))
        shutil.copyfile(source, target)
        rows.append(PlotRow(title=f.run_path, path=_project_rel(project_dir, target), source="run"))
    return rows


def _tools() -> dict[str, str]:
    tools = {"promoter": __version__, "python": platform.python_version()}
    for dist in ("dvc", "guildai"):
        try:
            tools[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return tools


def _write_yaml(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )


def user_template(settings: Settings) -> str | None:
    """The text of ``pr.template`` (a file inside the project), or ``None`` for the default."""
    name = settings.config.pr.template
    if not name:
        return None
    path = settings.project / name
    if not inside(settings.project.resolve(), path) or not path.is_file():
        raise UsageError(f"pr.template: {name} is not a file in the project")
    return path.read_text(encoding="utf-8")


def render_record_body(
    settings: Settings,
    record: PromotionRecord,
    forge: Forge,
    branch: str,
    commit: str,
    prefix: str,
) -> str:
    """The PR body for a record, images and the record linked the way ``forge`` shows them;
    ``prefix`` is the project's directory in the repository (``""`` or ``"sub/"``)."""
    from promoter.render.markdown import render_body

    return render_body(
        record,
        image_url=lambda p: forge.image_url(commit, prefix + p, branch),
        record_url=forge.file_url(commit, prefix + record_path(record.run.id), branch),
        marker=marker(record.run.op, record.run.id),
        template_text=user_template(settings),
        template_name=settings.config.pr.template,
    )
