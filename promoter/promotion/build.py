"""Building the promotion commit in a worktree: merge, DVC, plots, record, commit."""

from __future__ import annotations

import fnmatch
import logging
import platform
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

import msgspec
import yaml

from promoter import __version__
from promoter.candidates import winner_series
from promoter.config import ArtifactConfig
from promoter.core.champion import champion_yaml
from promoter.core.models import Run, RunFiles
from promoter.core.selection import Selection
from promoter.promotion.merge.apply import Written, inside
from promoter.promotion.merge.plan import FileKind, MergePlan, plan_merge, safe_relpath
from promoter.promotion.merge.run import copied, dvc_outputs, merge_run, needed_run_files
from promoter.promotion.merge.source import (
    MergeInputs,
    MergeMode,
    SourceMerge,
    check_merge,
    merge_source,
    three_way_possible,
)
from promoter.promotion.model_card import read_model_card
from promoter.promotion.record import (
    FileRow,
    PlotRow,
    PrInfo,
    PromotionRecord,
    TriggerInfo,
    record_to_builtins,
)
from promoter.promotion.record_builder import (
    RecordFacts,
    build_record,
    champion_document,
    record_dir,
)
from promoter.promotion.storage import project_rel, store_models
from promoter.runs.base import RunStore
from promoter.settings import Settings
from promoter.tools.git import Git

log = logging.getLogger("promoter")

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where the branch is built: a scratch worktree, the project inside it, and the user's
    checkout (whose DVC cache and local config the worktree shares)."""

    worktree: Path
    project_dir: Path
    main_root: Path
    git: Git
    remote: str | None = None
    """Where the run's commit can be fetched from when the checkout lacks it."""
    prefix: str = ""
    """The project's directory in the repository (``""`` or ``"sub/"``)."""


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What the branch promotes: the selection's winner, against the runs listed with it."""

    selection: Selection
    runs: Sequence[Run]
    trigger: TriggerInfo
    pr: PrInfo
    dry_run: bool
    check_body: Callable[[PromotionRecord], object] | None = None
    """Renders the PR body of a record; called on a provisional record before the first side
    effect, so a broken template stops the promotion before anything is stored."""


@dataclass(frozen=True, slots=True)
class BuiltBranch:
    """The promotion commit and its record."""

    commit: str
    record: PromotionRecord


def build_branch(
    settings: Settings, store: RunStore, request: BuildRequest, workspace: Workspace
) -> BuiltBranch:
    """Merge the winner into the workspace's project, store its models, write the record,
    commit."""
    selection, pr = request.selection, request.pr
    assert selection.winner is not None
    champion = selection.champion.champion if selection.champion else None
    champion_run = next((r for r in request.runs if champion and r.id == champion.run_id), None)
    selection, winner, champion_run = winner_series(
        store, selection, selection.winner, champion_run
    )
    run = winner.run
    config = settings.config
    project_dir, git = workspace.project_dir, workspace.git
    files = store.run_files(run)
    plan = plan_merge(files, config.merge, run.flags)
    plot_files = _run_plots(files, config.merge.plots)
    card = [config.pr.model_card] if config.pr.model_card else []
    run_dir = store.materialize(run, [*needed_run_files(plan), *plot_files, *card])
    log.info("merging run %s into a worktree of %s", run.short_id, pr.base)
    source, outputs = _merge_source(settings, workspace, run, run_dir, plan, pr.base)
    outcome = merge_run(project_dir, run_dir, outputs, dvc_roots=dvc_outputs(config.merge))
    if source.mode is MergeMode.COPY:
        source = copied(run.source_commit, source.reason, outcome)
    written = outcome.written
    dvc_paths = _dvc_outputs(config.merge.artifacts, written)
    if dvc_paths:
        _warm_up_plotting()
    facts = RecordFacts(
        provenance=store.provenance(run),
        reproduce=store.reproduce(run),
        run_files=files,
        source_merge=source,
        files=[_file_row(w) for w in written if not w.copy.dvc],
        dvc=[],
        plots=[],
        trigger=request.trigger,
        pr=msgspec.structs.replace(pr, source_commit=git.head()),
        tools=_tools(),
        champion_run=champion_run,
        champion_model_md5=champion.model_md5 if champion else None,
        model_card=read_model_card(run_dir, card[0]) if card else None,
    )
    if request.check_body is not None:
        request.check_body(build_record(selection, facts))
    dvc_rows = store_models(settings, workspace, dvc_paths, request.dry_run)
    out_dir = project_dir / record_dir(run.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = _plots(selection, champion_run, run_dir, plot_files, out_dir, project_dir)
    record = build_record(selection, replace(facts, dvc=dvc_rows, plots=plots))
    _write_yaml(out_dir / "record.yaml", record_to_builtins(record))
    champion_path = project_dir / settings.champion_file
    champion_path.parent.mkdir(parents=True, exist_ok=True)
    champion_path.write_text(champion_yaml(champion_document(record)), "utf-8")
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


def _merge_source(
    settings: Settings,
    workspace: Workspace,
    run: Run,
    run_dir: Path,
    plan: MergePlan,
    base_name: str,
) -> tuple[SourceMerge, MergePlan]:
    """Bring the run's source changes onto the worktree's base (three ways when its commit
    can be had); returns what was done and the plan left to carry out (the outputs, or the
    whole snapshot when it must be copied)."""
    config = settings.config.merge
    inputs = MergeInputs(
        workspace.git,
        workspace.remote,
        workspace.git.head(),
        base_name,
        workspace.prefix,
        config.allow,
        config.on_conflict == "run",
    )
    reason = three_way_possible(inputs, run.source_commit)
    if reason is not None or run.source_commit is None:
        log.warning("warning: copying run %s's source over %s: %s", run.short_id, base_name, reason)
        return SourceMerge(MergeMode.COPY, run.source_commit, reason or ""), plan
    tree, merged = merge_source(inputs, run.id, run.source_commit, run_dir, plan)
    check_merge(merged, base_name)
    workspace.git.switch_tree(tree)
    sources = (FileKind.SOURCE, FileKind.DEPENDENCY)
    outputs = replace(plan, copies=tuple(c for c in plan.copies if c.kind not in sources))
    return merged, outputs


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


def _file_row(w: Written) -> FileRow:
    return FileRow(
        path=w.copy.project_path,
        kind=w.copy.kind.value,
        sha256=w.sha256 or "",
        size=w.size,
    )


def _run_plots(files: RunFiles, patterns: Sequence[str]) -> list[str]:
    """The run's own images that the PR shows (``merge.plots``)."""
    return [
        f.run_path
        for f in files.generated
        if any(fnmatch.fnmatchcase(f.run_path, p) for p in patterns)
    ]


def _plots(
    selection: Selection,
    champion_run: Run | None,
    run_dir: Path,
    plot_files: Sequence[str],
    out_dir: Path,
    project_dir: Path,
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
    drawn = draw_curves(series, out_dir, recorded, theirs)
    rows = [
        PlotRow(title=title, path=project_rel(project_dir, path), source="curve", scalar=name)
        for name, (title, path) in zip(series, drawn, strict=True)
    ]
    run_root = run_dir.resolve()
    for run_path in plot_files:
        source = run_dir / run_path
        if source.is_symlink() or not inside(run_root, source) or not source.is_file():
            log.warning("warning: plot %s skipped (a symlink or outside the run)", run_path)
            continue
        target = out_dir / ("run-" + _UNSAFE_NAME.sub("-", run_path))
        shutil.copyfile(source, target)
        rows.append(PlotRow(title=run_path, path=project_rel(project_dir, target), source="run"))
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
