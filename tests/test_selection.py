"""Selection as a pure function: synthetic runs, no disk."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from promoter.core.expr import parse_criterion, parse_objective, parse_tie_break
from promoter.core.models import Champion, Run, RunStatus, ScalarSeries
from promoter.core.selection import Decision, Filters, Policy, select

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def make_run(
    n: int,
    status: RunStatus = RunStatus.COMPLETED,
    op: str = "train",
    label: str = "",
    tags: tuple[str, ...] = (),
    vcs: str | None = None,
    batch: bool = False,
    **series: float | list[float],
) -> Run:
    scalars = {}
    for name, value in series.items():
        vals = value if isinstance(value, list) else [value]
        scalars[name] = ScalarSeries(name, ".guild", tuple(range(len(vals))), tuple(vals))
    return Run(
        id=f"{n:032x}",
        op=op,
        status=status,
        started=T0 + timedelta(hours=n),
        label=label,
        tags=tags,
        scalars=scalars,
        vcs_commit=vcs,
        dirty_source=bool(vcs and vcs.endswith("*")),
        batch=batch,
    )


def policy(objective: str = "max val_acc", where: tuple[str, ...] = (), **kw: object) -> Policy:
    return Policy(
        objective=parse_objective(objective),
        criteria=tuple(parse_criterion(w) for w in where),
        **kw,  # type: ignore[arg-type]
    )


def by_id(selection, run: Run):  # type: ignore[no-untyped-def]
    return next(v for v in selection.verdicts if v.run.id == run.id)


def test_best_completed_run_wins_and_losers_say_why() -> None:
    a, b, c = make_run(1, val_acc=0.8), make_run(2, val_acc=0.93), make_run(3, val_acc=0.9)
    failed = make_run(4, status=RunStatus.ERROR, val_acc=0.99)
    result = select([a, b, c, failed], policy())
    assert result.decision is Decision.PROMOTE
    assert result.winner is not None and result.winner.run is b
    assert [v.run for v in result.verdicts] == [b, c, a, failed]
    assert [v.rank for v in result.verdicts] == [1, 2, 3, None]
    assert ", winner " in by_id(result, c).reasons[0]
    assert "0.9" in by_id(result, c).reasons[0] and "0.93" in by_id(result, c).reasons[0]
    assert by_id(result, failed).reasons == ("status error (candidates must be completed)",)
    assert not by_id(result, failed).eligible


def test_min_objective_over_series_aggregate() -> None:
    a = make_run(1, loss=[0.9, 0.1, 0.5])
    b = make_run(2, loss=[0.9, 0.3, 0.2])
    assert select([a, b], policy("min loss")).winner.run is b  # type: ignore[union-attr]
    assert select([a, b], policy("min min:loss")).winner.run is a  # type: ignore[union-attr]
    assert select([a, b], policy("max avg:loss")).winner.run is a  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "reason"),
    [(math.nan, "objective val_acc is NaN"), (math.inf, "objective val_acc is inf")],
)
def test_non_finite_objective_is_ineligible(value: float, reason: str) -> None:
    bad, good = make_run(1, val_acc=value), make_run(2, val_acc=0.5)
    result = select([bad, good], policy())
    assert result.winner is not None and result.winner.run is good
    assert by_id(result, bad).reasons == (reason,)


def test_missing_objective_scalar_is_ineligible() -> None:
    result = select([make_run(1, loss=0.3)], policy())
    assert result.decision is Decision.NO_CANDIDATE
    assert result.verdicts[0].reasons == ("objective val_acc is missing",)
    assert result.summary == "no eligible run among 1 considered"
    assert select([make_run(1, val_acc=0.5)], policy()).summary == (
        "run 00000000 has val_acc 0.5; no champion yet"
    )


def test_nan_in_series_poisons_min_max_avg_but_not_last() -> None:
    run = make_run(1, loss=[0.5, math.nan, 0.2])
    assert select([run], policy("min loss")).decision is Decision.PROMOTE
    assert select([run], policy("min min:loss")).decision is Decision.NO_CANDIDATE


def test_criteria_gate_and_report_each_result() -> None:
    fast = make_run(1, val_acc=0.91, latency_ms=30.0)
    slow = make_run(2, val_acc=0.95, latency_ms=55.0)
    unmeasured = make_run(3, val_acc=0.97)
    result = select([fast, slow, unmeasured], policy(where=("val_acc >= 0.9", "latency_ms <= 40")))
    assert result.winner is not None and result.winner.run is fast
    slow_v = by_id(result, slow)
    assert [r.passed for r in slow_v.criteria] == [True, False]
    assert slow_v.reasons == ("fails latency_ms <= 40 (latency_ms = 55)",)
    assert by_id(result, unmeasured).reasons == ("fails latency_ms <= 40: latency_ms is missing",)
    assert dict(result.winner.criteria[1].values) == {"latency_ms": 30.0}


def test_filters() -> None:
    now = T0 + timedelta(hours=10)
    runs = [
        make_run(1, op="prepare", val_acc=0.99),
        make_run(2, label="nightly-a", tags=("reviewed",), val_acc=0.8),
        make_run(3, label="manual", tags=("reviewed",), val_acc=0.95),
        make_run(4, label="nightly-b", val_acc=0.97),
        make_run(5, batch=True, val_acc=0.99, op="train+"),
        make_run(6, label="nightly-c", tags=("reviewed",), vcs="git:abc*", val_acc=0.99),
    ]
    filters = Filters(
        operations=("train",),
        label="nightly-*",
        tags=("reviewed",),
        started_after=now - timedelta(hours=7.5),
        require_clean_source=True,
    )
    result = select(runs, policy(filters=filters))
    assert result.winner is None
    reasons = {v.run.id[-1]: v.reasons for v in result.verdicts}
    assert "operation 'prepare' is not train" in reasons["1"]
    assert any("before" in r for r in reasons["2"])
    assert "label 'manual' does not match 'nightly-*'" in reasons["3"]
    assert "no tag 'reviewed'" in reasons["4"]
    assert reasons["5"][0].startswith("batch run")
    assert reasons["6"] == ("started from uncommitted source (git:abc*)",)


def test_operation_filter_accepts_model_qualified_and_glob() -> None:
    runs = [make_run(1, op="mnist:train", val_acc=0.5), make_run(2, op="eval", val_acc=0.9)]
    for wanted in (("train",), ("mnist:train",), ("tr*",)):
        result = select(runs, policy(filters=Filters(operations=wanted)))
        assert result.winner is not None and result.winner.run is runs[0]


def test_ties_go_to_the_newest_by_default_like_guild_select() -> None:
    old, new = make_run(1, val_acc=0.9), make_run(2, val_acc=0.9)
    result = select([old, new], policy())
    assert result.winner is not None and result.winner.run is new
    assert "tie-break 'newest'" in by_id(result, old).reasons[0]
    result = select([old, new], policy(tie_breaks=(parse_tie_break("oldest"),)))
    assert result.winner is not None and result.winner.run is old


def test_tie_break_by_scalar_then_newest() -> None:
    a = make_run(1, val_acc=0.9, loss=0.1)
    b = make_run(2, val_acc=0.9, loss=0.2)
    c = make_run(3, val_acc=0.9, loss=0.2)
    rules = (parse_tie_break("min loss"), parse_tie_break("newest"))
    result = select([a, b, c], policy(tie_breaks=rules))
    assert [v.run for v in result.verdicts] == [a, c, b]
    assert "lost the tie-break 'min loss': 0.2 vs 0.1" in by_id(result, b).reasons[0]


def champion(run_id: str = "f" * 32, value: float | None = 0.9, **scalars: float) -> Champion:
    return Champion(run_id, "train", "val_acc", value, scalars)


def test_champion_must_be_beaten_by_min_improvement() -> None:
    run = make_run(1, val_acc=0.905)
    result = select([run], policy(min_improvement=0.01), champion(value=0.9))
    assert result.decision is Decision.NOT_BETTER
    assert result.improvement == pytest.approx(0.005)
    assert "champion ffffffff has 0.9: improvement 0.005 is short of the 0.01 required" in (
        result.summary
    )
    result = select([run], policy(min_improvement=0.005), champion(value=0.9))
    assert result.decision is Decision.PROMOTE


def test_equal_to_champion_is_not_better_even_with_zero_margin() -> None:
    result = select([make_run(1, val_acc=0.9)], policy(), champion(value=0.9))
    assert result.decision is Decision.NOT_BETTER


def test_relative_improvement() -> None:
    run = make_run(1, loss=0.198)
    rel = policy("min loss", min_improvement=0.02, relative_improvement=True)
    assert select([run], rel, champion(value=None, loss=0.2)).decision is Decision.NOT_BETTER
    assert select([run], rel, champion(value=None, loss=0.21)).decision is Decision.PROMOTE


def test_champion_value_comes_from_its_run_when_still_present() -> None:
    champ_run = make_run(1, val_acc=0.8, loss=0.5)
    challenger = make_run(2, val_acc=0.85, loss=0.45)
    result = select([champ_run, challenger], policy("min loss"), champion(champ_run.id, 0.8))
    assert result.champion is not None
    assert (result.champion.value, result.champion.value_source) == (0.5, "run")
    assert result.decision is Decision.PROMOTE


def test_a_champion_without_a_value_is_never_silently_beaten() -> None:
    run = make_run(1, f1=0.7)
    result = select([run], policy("max f1"), champion(value=0.9))
    assert result.champion is not None and result.champion.value is None
    assert result.decision is Decision.NOT_COMPARABLE
    assert "has no value for f1, so the improvement cannot be checked" in result.summary
    assert "promote a run by id" in result.summary
    asked = select([run], policy("max f1"), champion(value=0.9), only=run.id)
    assert asked.decision is Decision.PROMOTE
    assert "promoted as asked by id" in asked.summary


def test_winner_already_champion() -> None:
    run = make_run(1, val_acc=0.9)
    result = select([run], policy(), champion(run.id, 0.9))
    assert result.decision is Decision.NOT_BETTER
    assert "already the champion" in result.summary


def test_only_one_run() -> None:
    a, b = make_run(1, val_acc=0.8), make_run(2, val_acc=0.93)
    result = select([a, b], policy(), only=a.id)
    assert [v.run for v in result.verdicts] == [a]
    assert result.winner is not None and result.winner.run is a
    failed = make_run(3, status=RunStatus.TERMINATED, val_acc=0.99)
    result = select([a, failed], policy(), only=failed.id)
    assert result.decision is Decision.NO_CANDIDATE


def test_hidden_summary_counts_and_reasons() -> None:
    from promoter.cli.tables import hidden_summary

    runs = [make_run(i, val_acc=0.5 + i / 100) for i in range(1, 4)]
    runs += [make_run(10, status=RunStatus.ERROR, val_acc=0.9)]
    runs += [make_run(11, status=RunStatus.ERROR, val_acc=0.9)]
    runs += [make_run(12, loss=0.1)]
    result = select(runs, policy())
    ranked = [v for v in result.verdicts if v.eligible]
    left_out = [v for v in result.verdicts if not v.eligible]
    assert hidden_summary(ranked[1:], left_out) == (
        "not shown: 2 lower-ranked and 3 ineligible (status: 2, objective: 1); "
        "--all shows every run"
    )


def test_without_tie_breaks_the_newest_wins_and_says_so() -> None:
    old, new = make_run(1, val_acc=0.9), make_run(2, val_acc=0.9)
    result = select([old, new], policy(tie_breaks=()))
    assert result.winner is not None and result.winner.run is new
    assert by_id(result, old).reasons == (
        f"tied with {new.short_id} on val_acc 0.9; lost on start time, then id",
    )
