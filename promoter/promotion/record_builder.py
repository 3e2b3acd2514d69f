"""Building the promotion record from a selection and what the promotion did: pure data in/out."""

from __future__ import annotations

import hashlib
import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from promoter.core.champion import ChampionDocument, ChampionObjective
from promoter.core.expr import Criterion, ScalarRef
from promoter.core.models import Champion, FlagValue, Provenance, Run, RunFiles
from promoter.core.selection import Selection, Verdict, check_criterion, op_matches, scalar_value
from promoter.promotion.directions import better_directions
from promoter.promotion.lineage import lineage_hashes, model_check
from promoter.promotion.merge.source import SourceMerge
from promoter.promotion.record import (
    CandidateRow,
    ChampionInfo,
    CheckRow,
    CriterionRow,
    DependencyRow,
    DvcRow,
    FileRow,
    FlagRow,
    ModelCard,
    ObjectiveInfo,
    PlotRow,
    PrInfo,
    PromotionRecord,
    Reproduce,
    RunInfo,
    ScalarRow,
    SourceMergeInfo,
    TriggerInfo,
)

PROMOTIONS_DIR = ".promoter/promotions"


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What a promotion did, beyond the selection: files, DVC outputs, plots, context."""

    provenance: Provenance
    reproduce: str
    """The command that repeats the run, as the run store says."""
    run_files: RunFiles
    files: Sequence[FileRow]
    dvc: Sequence[DvcRow]
    plots: Sequence[PlotRow]
    trigger: TriggerInfo
    pr: PrInfo
    tools: Mapping[str, str]
    champion_run: Run | None = None
    champion_model_md5: Mapping[str, str] | None = None
    source_merge: SourceMerge | None = None
    model_card: ModelCard | None = None


def record_dir(run_id: str) -> str:
    """Where a run's record and plots are committed."""
    return f"{PROMOTIONS_DIR}/{run_id}"


def record_path(run_id: str) -> str:
    """The project path of a run's ``record.yaml``."""
    return f"{record_dir(run_id)}/record.yaml"


def build_record(
    selection: Selection, facts: RecordFacts, verdict: Verdict | None = None
) -> PromotionRecord:
    """The whole record of promoting ``verdict`` (default: ``selection.winner``)."""
    winner = verdict or selection.winner
    if winner is None:
        raise ValueError("a record needs a run")
    run = winner.run
    standing = selection.champion
    champion = standing.champion if standing else None
    policy = selection.policy
    required = (
        policy.required_improvement(standing.value)
        if standing is not None and standing.value is not None
        else None
    )
    lineage = lineage_hashes(run.tags)
    check = model_check(lineage, [(d.path, d.md5) for d in facts.dvc])
    return PromotionRecord(
        decision=selection.decision.value,
        summary=selection.summary,
        checks=[CheckRow(name=check.name, passed=check.passed, detail=check.detail)]
        if check
        else [],
        run=_run_info(run, facts.provenance, lineage),
        objective=ObjectiveInfo(
            name=str(policy.objective.scalar),
            direction=policy.objective.direction,
            value=winner.objective,
            champion_value=standing.value if standing else None,
            champion_value_source=standing.value_source if standing else None,
            improvement=selection.improvement,
            required_improvement=required,
        ),
        criteria=[
            CriterionRow(
                criterion=r.criterion.text,
                passed=r.passed,
                values=dict(r.values),
                problem=r.problem,
                champion_passed=_champion_passes(r.criterion, champion, facts.champion_run),
            )
            for r in winner.criteria
        ],
        scalars=_scalar_rows(run, champion, facts.champion_run, better_directions(policy)),
        flags=_flag_rows(run.flags, champion, facts.champion_run),
        files=list(facts.files),
        dvc=list(facts.dvc),
        dependencies=[
            DependencyRow(path=d.project_path or d.uri or d.run_path, sha1=d.sha1)
            for d in facts.run_files.dependencies
        ],
        plots=list(facts.plots),
        champion=ChampionInfo(
            run_id=champion.run_id,
            op=champion.op,
            objective_value=standing.value if standing else None,
            model_md5=dict(facts.champion_model_md5 or {}),
        )
        if champion
        else None,
        reproduce=Reproduce(
            command=facts.reproduce,
            dvc_pull=" ".join(["dvc", "pull", *(shlex.quote(d.path) for d in facts.dvc)])
            if facts.dvc
            else None,
        ),
        trigger=facts.trigger,
        pr=facts.pr,
        tools=dict(facts.tools),
        source_merge=_source_merge(facts.source_merge, facts.run_files),
        candidates=_candidates(selection, run),
        model_card=facts.model_card,
    )


def _candidates(selection: Selection, promoted: Run) -> list[CandidateRow]:
    """Every other run of the track's operations that selection judged, in its order (the
    eligible by rank, then the others): batch parents and other operations are no candidates."""
    operations = selection.policy.filters.operations
    return [
        CandidateRow(
            id=v.run.id,
            op=v.run.op,
            status=v.run.status.value,
            started=_iso(v.run.started),
            objective=v.objective,
            rank=v.rank,
            criteria_passed=sum(1 for c in v.criteria if c.passed),
            criteria_total=len(v.criteria),
            reasons=list(v.reasons),
        )
        for v in selection.verdicts
        if v.run.id != promoted.id
        and not v.run.batch
        and (not operations or op_matches(v.run.op, operations))
    ]


def _source_merge(merged: SourceMerge | None, files: RunFiles) -> SourceMergeInfo | None:
    if merged is None:
        return None
    return SourceMergeInfo(
        mode=merged.mode.value,
        source_commit=merged.source_commit,
        reason=merged.reason,
        changed=[f"{status} {path}" for status, path in merged.changed],
        taken_from_run=list(merged.taken_from_run),
        replaced=list(merged.replaced),
        snapshot=bool(files.source or files.dependencies),
    )


def _run_info(run: Run, prov: Provenance, lineage: dict[str, str]) -> RunInfo:
    packages = "\n".join(prov.packages)
    return RunInfo(
        id=run.id,
        short_id=run.short_id,
        op=run.op,
        status=run.status.value,
        label=run.label,
        tags=list(run.tags),
        started=_iso(run.started),
        stopped=_iso(run.stopped),
        host=prov.host,
        user=prov.user,
        vcs_commit=run.vcs_commit,
        dirty_source=run.dirty_source,
        dirty_known=prov.records_uncommitted,
        sourcecode_digest=prov.sourcecode_digest,
        random_seed=prov.random_seed,
        command=list(prov.command),
        python=prov.python,
        packages_count=len(prov.packages),
        packages_sha256=hashlib.sha256(packages.encode()).hexdigest() if prov.packages else None,
        lineage=lineage,
        ci_job_url=prov.ci_job_url,
    )


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _champion_value(ref: ScalarRef, champion: Champion | None, run: Run | None) -> float | None:
    if run is not None:
        return scalar_value(run, ref)
    if champion is None:
        return None
    return champion.scalars.get(str(ref))


def _champion_passes(
    criterion: Criterion, champion: Champion | None, run: Run | None
) -> bool | None:
    if champion is None:
        return None
    result = check_criterion(criterion, lambda ref: _champion_value(ref, champion, run))
    return None if result.problem else result.passed


def _scalar_rows(
    run: Run,
    champion: Champion | None,
    champion_run: Run | None,
    better: Mapping[str, str],
) -> list[ScalarRow]:
    """One row per series, by the name ``guild compare`` shows (``validate#accuracy`` keeps
    its prefix), Guild's ``sys/*`` left out; ``better`` says which way is better by name."""
    series_by_name = {s.display_name: s for s in run.scalars.values() if not s.system}
    rows = []
    for key in sorted(series_by_name):
        series = series_by_name[key]
        value = series.aggregate("last")
        theirs = _champion_value(ScalarRef(key), champion, champion_run)
        delta = (
            value - theirs
            if theirs is not None and math.isfinite(value) and math.isfinite(theirs)
            else None
        )
        rows.append(ScalarRow(key, value, theirs, delta, len(series.values), better.get(key)))
    return rows


def _flag_rows(
    flags: Mapping[str, FlagValue], champion: Champion | None, champion_run: Run | None
) -> list[FlagRow]:
    theirs: Mapping[str, FlagValue] | None = None
    if champion_run is not None:
        theirs = champion_run.flags
    elif champion is not None and champion.flags:
        theirs = champion.flags
    names = sorted(set(flags) | set(theirs or {}))
    return [
        FlagRow(
            name=name,
            value=flags.get(name),
            champion=theirs.get(name) if theirs is not None else None,
            champion_known=theirs is not None,
            changed=theirs is not None and theirs.get(name) != flags.get(name),
        )
        for name in names
    ]


def champion_document(record: PromotionRecord) -> ChampionDocument:
    """``.promoter/champion.yaml``: what the next promotion must beat, and the rollback target."""
    return ChampionDocument(
        run_id=record.run.id,
        op=record.run.op,
        objective=ChampionObjective(
            name=record.objective.name,
            direction=record.objective.direction,
            value=record.objective.value,
        ),
        scalars={row.name: row.candidate for row in record.scalars},
        flags={row.name: row.value for row in record.flags if row.value is not None},
        model_md5={row.path: row.md5 for row in record.dvc},
        record=record_path(record.run.id),
        promoted_by=record.trigger.event,
        previous=record.champion.run_id if record.champion else None,
    )
