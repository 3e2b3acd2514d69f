"""The ``select`` section of the config turned into a selection policy, and the checks that
its scalar names exist: pure functions of the config and the runs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from promoter.config import Config, improvement_setting, resolve_started_after
from promoter.core.expr import (
    ExpressionError,
    ScalarRef,
    parse_criterion,
    parse_objective,
    parse_tie_break,
)
from promoter.core.models import Run
from promoter.core.selection import Filters, Policy, op_matches
from promoter.errors import ConfigError, UsageError


def build_policy(config: Config, now: datetime, objective: str | None = None) -> Policy:
    """Turn the validated ``select`` and ``source`` sections into a selection policy."""
    sel = config.select
    text = objective or sel.objective
    if not text:
        raise UsageError(
            "no objective: set select.objective in .promoter.yml (e.g. 'max val_acc') "
            "or pass --objective"
        )
    try:
        parsed = parse_objective(text)
    except ExpressionError as e:
        raise UsageError(f"--objective: {e}") from None
    amount, relative = improvement_setting(sel.min_improvement)
    started_after = (
        resolve_started_after(sel.started_after, now) if sel.started_after is not None else None
    )
    filters = Filters(
        operations=config.source.operations,
        statuses=tuple(sel.status),
        label=sel.label,
        tags=tuple(sel.tags),
        started_after=started_after,
        require_clean_source=sel.require_clean_source,
    )
    return Policy(
        objective=parsed,
        criteria=tuple(parse_criterion(c) for c in sel.where),
        min_improvement=amount,
        relative_improvement=relative,
        tie_breaks=tuple(parse_tie_break(t) for t in sel.tie_break),
        filters=filters,
    )


def check_scalar_names(policy: Policy, runs: Iterable[Run], origin: str) -> None:
    """Fail when the policy names a scalar that no run of the selected operations has."""
    operations = policy.filters.operations
    candidates = [r for r in runs if not operations or op_matches(r.op, operations)]
    wanted = [] if policy.objective.newest else [("select.objective", policy.objective.scalar.name)]
    wanted += [
        (f"select.where[{i}]", ref.name)
        for i, c in enumerate(policy.criteria)
        for ref in c.scalars()
    ]
    wanted += [
        (f"select.tie_break[{i}]", t.objective.scalar.name)
        for i, t in enumerate(policy.tie_breaks)
        if t.objective is not None
    ]
    for key, name in wanted:
        if any(run.scalar(name) is not None for run in candidates):
            continue
        known = sorted(
            {s.display_name for run in candidates for s in run.scalars.values() if not s.system}
        )
        reason = f"no run has a scalar {name!r}; runs have: {', '.join(known) or 'no scalars'}"
        if origin.startswith("--"):
            raise UsageError(f"{origin}: {reason}")
        raise ConfigError(origin, key, reason)


def policy_scalars(policy: Policy) -> list[ScalarRef]:
    """Every scalar the policy reads: the objective, the criteria, the tie-breaks."""
    refs = [policy.objective.scalar]
    refs += [ref for c in policy.criteria for ref in c.scalars()]
    refs += [t.objective.scalar for t in policy.tie_breaks if t.objective is not None]
    return list(dict.fromkeys(refs))


def aggregated_names(refs: Iterable[ScalarRef]) -> frozenset[str]:
    """The scalars summarised by more than their last value: a store that reads last values
    only must load their histories."""
    return frozenset(ref.name for ref in refs if ref.aggregate != "last")


def plotted_names(policy: Policy) -> list[str]:
    """The scalars whose curves the PR shows: the objective's, then the criteria's."""
    names = [policy.objective.scalar.name]
    names += [ref.name for c in policy.criteria for ref in c.scalars()]
    return list(dict.fromkeys(names))


def chosen_scalars(config: Config) -> list[str]:
    """The scalars the config names (objective, then criteria), as columns for listings."""
    names: list[str] = []
    if config.select.objective:
        objective = parse_objective(config.select.objective)
        if not objective.newest:  # a start time, not a scalar
            names.append(str(objective.scalar))
    for text in config.select.where:
        names.extend(str(ref) for ref in parse_criterion(text).scalars())
    return list(dict.fromkeys(names))
