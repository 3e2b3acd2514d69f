"""Choosing the run to promote: a pure function of runs, a policy and the champion."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from promoter.core.expr import Criterion, Objective, ScalarRef, TieBreak
from promoter.core.models import Champion, Run, RunStatus


class Decision(StrEnum):
    """What selection concludes."""

    PROMOTE = "promote"
    NOT_BETTER = "not-better"
    NO_CANDIDATE = "no-candidate"
    NOT_COMPARABLE = "not-comparable"
    """The champion has no value for the objective: nothing is promoted unless asked by id."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Which runs are candidates at all."""

    operations: tuple[str, ...] = ()
    statuses: tuple[RunStatus, ...] = (RunStatus.COMPLETED,)
    label: str | None = None
    tags: tuple[str, ...] = ()
    started_after: datetime | None = None
    require_clean_source: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """How to pick the best run and when it is good enough to promote."""

    objective: Objective
    criteria: tuple[Criterion, ...] = ()
    min_improvement: float = 0.0
    relative_improvement: bool = False
    tie_breaks: tuple[TieBreak, ...] = (TieBreak(newest=True),)
    filters: Filters = field(default_factory=Filters)

    def required_improvement(self, champion_value: float) -> float:
        """The margin the candidate must beat the champion by."""
        if self.relative_improvement:
            return abs(champion_value) * self.min_improvement
        return self.min_improvement


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One acceptance criterion checked against one run."""

    criterion: Criterion
    passed: bool
    values: Mapping[str, float | None]
    problem: str | None = None

    def explain(self) -> str:
        """``val_acc >= 0.9 (val_acc = 0.93)``, or what made it uncheckable."""
        if self.problem:
            return f"{self.criterion.text}: {self.problem}"
        shown = ", ".join(f"{name} = {_fmt(v)}" for name, v in self.values.items())
        return f"{self.criterion.text} ({shown})"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What selection found about one run."""

    run: Run
    objective: float | None
    criteria: tuple[CriterionResult, ...]
    eligible: bool
    reasons: tuple[str, ...]
    rank: int | None = None


@dataclass(frozen=True, slots=True)
class ChampionStanding:
    """The current champion and its value on today's objective, where it can be known."""

    champion: Champion
    value: float | None
    value_source: str


@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome: a decision, the winner, and a verdict for every run considered."""

    decision: Decision
    summary: str
    policy: Policy
    winner: Verdict | None
    champion: ChampionStanding | None
    improvement: float | None
    verdicts: tuple[Verdict, ...]


def select(
    runs: Sequence[Run],
    policy: Policy,
    champion: Champion | None = None,
    only: str | None = None,
) -> Selection:
    """Rank the candidate runs and decide whether the best one should be promoted.

    ``only`` restricts the candidates to one run id (``promoter select --run``).
    """
    considered = [r for r in runs if only is None or r.id == only]
    checked = [_check(run, policy) for run in considered]
    eligible = sorted((v for v in checked if v.eligible), key=lambda v: _rank_key(v, policy))
    ranked = [_with_rank(v, i + 1, eligible[0], policy) for i, v in enumerate(eligible)]
    ineligible = [v for v in checked if not v.eligible]
    standing = _standing(champion, runs, policy.objective)
    winner = ranked[0] if ranked else None
    decision, summary, improvement = _decide(winner, standing, policy, len(checked), only)
    return Selection(
        decision, summary, policy, winner, standing, improvement, (*ranked, *ineligible)
    )


def objective_value(run: Run, objective: Objective) -> float | None:
    """The run's value for the objective's scalar, or ``None`` when it has no such scalar.

    For ``newest``: when the run started, in seconds since the epoch (``None`` if never).
    """
    if objective.newest:
        return run.started.timestamp() if run.started else None
    return scalar_value(run, objective.scalar)


def objective_text(objective: Objective, value: float | None) -> str:
    """A value of the objective for people: the number, or for ``newest`` the start time."""
    if objective.newest and value is not None and math.isfinite(value):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return _fmt(value)


def scalar_value(run: Run, ref: ScalarRef) -> float | None:
    """The summarised value of a scalar, or ``None`` when the run has no such scalar."""
    series = run.scalar(ref.name)
    return None if series is None else series.aggregate(ref.aggregate)


def _check(run: Run, policy: Policy) -> Verdict:
    reasons = list(_filter_reasons(run, policy.filters))
    value = objective_value(run, policy.objective)
    problem = _value_problem(str(policy.objective.scalar), value)
    if problem:
        reasons.append(f"objective {problem}")
    results = tuple(_check_criterion(run, c) for c in policy.criteria)
    reasons.extend(f"fails {r.explain()}" for r in results if not r.passed)
    return Verdict(run, value, results, not reasons, tuple(reasons))


def passes_filters(run: Run, filters: Filters) -> bool:
    """Whether ``run`` is a candidate at all, before any of its values is looked at."""
    return not _filter_reasons(run, filters)


def _filter_reasons(run: Run, filters: Filters) -> list[str]:
    reasons = []
    if run.batch:
        reasons.append("batch run (the parent of a grid or optimizer): not a training run")
    if filters.operations and not op_matches(run.op, filters.operations):
        reasons.append(f"operation {run.op!r} is not {' or '.join(filters.operations)}")
    if run.status not in filters.statuses:
        wanted = ", ".join(s.value for s in filters.statuses)
        reasons.append(f"status {run.status.value} (candidates must be {wanted})")
    if filters.label is not None and not fnmatch.fnmatchcase(run.label, filters.label):
        reasons.append(f"label {run.label!r} does not match {filters.label!r}")
    reasons.extend(f"no tag {t!r}" for t in filters.tags if t not in run.tags)
    if filters.started_after is not None and (
        run.started is None or run.started < filters.started_after
    ):
        when = run.started.isoformat() if run.started else "never"
        reasons.append(f"started {when}, before {filters.started_after.isoformat()}")
    if filters.require_clean_source and run.dirty_source:
        reasons.append(f"started from uncommitted source ({run.vcs_commit})")
    return reasons


def op_matches(op: str, wanted: Sequence[str]) -> bool:
    """Whether ``op`` (``train`` or ``model:train``) matches one of the wanted names or globs."""
    bare = op.rsplit(":", 1)[-1]
    return any(fnmatch.fnmatchcase(op, w) or fnmatch.fnmatchcase(bare, w) for w in wanted)


def _value_problem(name: str, value: float | None) -> str | None:
    if value is None:
        return f"{name} is missing"
    if math.isnan(value):
        return f"{name} is NaN"
    if math.isinf(value):
        return f"{name} is {value}"
    return None


def _check_criterion(run: Run, criterion: Criterion) -> CriterionResult:
    return check_criterion(criterion, lambda ref: scalar_value(run, ref))


def check_criterion(
    criterion: Criterion, value_of: Callable[[ScalarRef], float | None]
) -> CriterionResult:
    """Check one criterion on values looked up by scalar (a run's, or a champion record's)."""
    values = {ref: value_of(ref) for ref in criterion.scalars()}
    shown = {str(ref): v for ref, v in values.items()}
    for ref, v in values.items():
        problem = _value_problem(str(ref), v)
        if problem:
            return CriterionResult(criterion, False, shown, problem)
    finite = {ref: v for ref, v in values.items() if v is not None}
    return CriterionResult(criterion, criterion.evaluate(finite), shown)


def _rank_key(verdict: Verdict, policy: Policy) -> tuple[float | str, ...]:
    """Sorts best first: objective, then each tie-break, then newest, then run id."""
    assert verdict.objective is not None
    key: list[float | str] = [_ascending(verdict.objective, policy.objective)]
    for rule in policy.tie_breaks:
        if rule.objective is None:
            key.append(_started(verdict.run) * (-1 if rule.newest else 1))
        else:
            key.append(_ascending(scalar_value(verdict.run, rule.objective.scalar), rule.objective))
    key += [-_started(verdict.run), verdict.run.id]
    return tuple(key)


def _ascending(value: float | None, objective: Objective) -> float:
    """A value to sort ascending so the best comes first; missing or NaN sorts last."""
    if value is None or math.isnan(value):
        return math.inf
    return -value if objective.direction == "max" else value


def _started(run: Run) -> float:
    return run.started.timestamp() if run.started else 0.0


def _with_rank(verdict: Verdict, rank: int, first: Verdict, policy: Policy) -> Verdict:
    reasons: tuple[str, ...] = ()
    if rank > 1:
        reasons = (_why_lost(verdict, first, policy),)
    return Verdict(verdict.run, verdict.objective, verdict.criteria, True, reasons, rank)


def _why_lost(loser: Verdict, winner: Verdict, policy: Policy) -> str:
    """Name the first part of the rank key where the loser falls behind the winner."""
    name = str(policy.objective.scalar)
    assert loser.objective is not None and winner.objective is not None
    theirs, ours = _rank_key(winner, policy), _rank_key(loser, policy)
    first = next(i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
    if first == 0 and policy.objective.newest:
        return (
            f"started {objective_text(policy.objective, loser.objective)}, winner "
            f"{winner.run.short_id} started {objective_text(policy.objective, winner.objective)}"
        )
    if first == 0:
        return (
            f"{name} {_fmt(loser.objective)}, winner {winner.run.short_id} has "
            f"{_fmt(winner.objective)}"
        )
    tied = f"tied with {winner.run.short_id} on {name} {_fmt(loser.objective)}"
    if first > len(policy.tie_breaks):
        return f"{tied}; lost on start time, then id"
    rule = policy.tie_breaks[first - 1]
    detail = ""
    if rule.objective is not None:
        a = scalar_value(loser.run, rule.objective.scalar)
        b = scalar_value(winner.run, rule.objective.scalar)
        detail = f": {_fmt(a)} vs {_fmt(b)}"
    return f"{tied}; lost the tie-break '{rule}'{detail}"


def _standing(
    champion: Champion | None, runs: Sequence[Run], objective: Objective
) -> ChampionStanding | None:
    if champion is None:
        return None
    champion_run = next((r for r in runs if r.id == champion.run_id), None)
    if champion_run is not None:
        value = objective_value(champion_run, objective)
        if value is not None and math.isfinite(value):
            return ChampionStanding(champion, value, "run")
    recorded = champion.scalars.get(str(objective.scalar))
    if recorded is None and champion.objective_name == str(objective.scalar):
        recorded = champion.objective_value
    if recorded is not None and math.isfinite(recorded):
        return ChampionStanding(champion, recorded, "record")
    return ChampionStanding(champion, None, "unknown")


def _decide(
    winner: Verdict | None,
    standing: ChampionStanding | None,
    policy: Policy,
    considered: int,
    only: str | None = None,
) -> tuple[Decision, str, float | None]:
    name = str(policy.objective.scalar)
    if winner is None:
        return Decision.NO_CANDIDATE, f"no eligible run among {considered} considered", None
    assert winner.objective is not None
    head = f"run {winner.run.short_id} has {name} {_fmt(winner.objective)}"
    if policy.objective.newest:
        head = f"run {winner.run.short_id} is the newest eligible run"
        head += f" (started {objective_text(policy.objective, winner.objective)})"
    if standing is None:
        return Decision.PROMOTE, f"{head}; no champion yet", None
    champ = standing.champion.run_id[:8]
    if winner.run.id == standing.champion.run_id:
        return Decision.NOT_BETTER, f"{head} and is already the champion", 0.0
    if standing.value is None:
        note = f"champion {champ} has no value for {name}, so the improvement cannot be checked"
        if only is not None:
            return Decision.PROMOTE, f"{head}; {note} (promoted as asked by id)", None
        ask = "promote a run by id to replace it, or change select.objective back"
        return Decision.NOT_COMPARABLE, f"{head}; {note}: nothing promoted ({ask})", None
    gain = policy.objective.improvement(winner.objective, standing.value)
    needed = policy.required_improvement(standing.value)
    versus = f"champion {champ} has {_fmt(standing.value)}"
    if policy.objective.newest:
        versus = f"champion {champ} started {objective_text(policy.objective, standing.value)}"
        newer = gain > 0 and gain >= needed
        how = f"{_fmt(gain)} s later" if gain > 0 else "not later"
        if gain > 0 and not newer:
            how += f", short of the {_fmt(needed)} s required"
        verdict = Decision.PROMOTE if newer else Decision.NOT_BETTER
        return verdict, f"{head}; {versus}: {how}", gain
    if gain > 0 and gain >= needed:
        return (
            Decision.PROMOTE,
            f"{head}; {versus}: improvement {_fmt(gain)} >= {_fmt(needed)} required",
            gain,
        )
    return (
        Decision.NOT_BETTER,
        f"{head}; {versus}: improvement {_fmt(gain)} is short of the {_fmt(needed)} required",
        gain,
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "missing"
    return f"{value:.6g}"
