"""Runs and selections as JSON (a contract, see SPEC.md) and as tables for people."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from promoter.core.models import FlagValue, Run
from promoter.core.selection import Selection, Verdict
from promoter.render.format import json_number
from promoter.runs.base import RunListing

if TYPE_CHECKING:
    from promoter.promotion.outcome import PromoteResult


def flag_json(value: FlagValue) -> Any:
    """A flag value for JSON: non-finite floats as strings (see ``json_number``), nested too."""
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, list):
        return [flag_json(v) for v in value]
    if isinstance(value, dict):
        return {k: flag_json(v) for k, v in value.items()}
    return value


def run_json(run: Run) -> dict[str, Any]:
    """Everything ``promoter runs --json`` says about one run."""
    return {
        "id": run.id,
        "op": run.op,
        "status": run.status.value,
        "started": run.started.isoformat() if run.started else None,
        "stopped": run.stopped.isoformat() if run.stopped else None,
        "label": run.label,
        "tags": list(run.tags),
        "flags": {name: flag_json(value) for name, value in run.flags.items()},
        "scalars": {
            name: {k: json_number(v) for k, v in series.summary().items()}
            for name, series in run.scalars.items()
        },
        "vcs_commit": run.vcs_commit,
        "dirty_source": run.dirty_source,
    }


def listing_json(listing: RunListing) -> str:
    """``promoter runs --json``."""
    payload = {
        "runs": [run_json(r) for r in listing.runs],
        "skipped": [{"id": s.run_id, "reason": s.reason} for s in listing.skipped],
    }
    return _dump(payload)


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """One entry of ``select --json``'s ``runs``."""
    return {
        "id": verdict.run.id,
        "op": verdict.run.op,
        "status": verdict.run.status.value,
        "objective": json_number(verdict.objective),
        "eligible": verdict.eligible,
        "rank": verdict.rank,
        "reasons": list(verdict.reasons),
        "criteria": [
            {
                "criterion": r.criterion.text,
                "passed": r.passed,
                "values": {k: json_number(v) for k, v in r.values.items()},
                "problem": r.problem,
            }
            for r in verdict.criteria
        ],
        "dirty_source": verdict.run.dirty_source,
    }


def selection_json(selection: Selection) -> str:
    """``promoter select --json``: the contract fields first, details after."""
    objective = selection.policy.objective
    winner = selection.winner
    standing = selection.champion
    payload = {
        "decision": selection.decision.value,
        "winner": winner.run.id if winner else None,
        "champion": standing.champion.run_id if standing else None,
        "objective": {
            "name": str(objective.scalar),
            "direction": objective.direction,
            "value": json_number(winner.objective) if winner else None,
        },
        "runs": [verdict_json(v) for v in selection.verdicts],
        "summary": selection.summary,
        "champion_value": json_number(standing.value) if standing else None,
        "improvement": json_number(selection.improvement),
        "criteria": [c.text for c in selection.policy.criteria],
    }
    return _dump(payload)


def _dump(payload: dict[str, Any]) -> str:
    """Indented JSON, encoded in C (``json.dumps(indent=...)`` falls back to pure Python)."""
    return msgspec.json.format(msgspec.json.encode(payload), indent=2).decode()


def fmt_value(value: float | None) -> str:
    """A scalar for a table cell."""
    if value is None:
        return "-"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def fmt_flags(flags: dict[str, FlagValue] | Any, width: int = 40) -> str:
    """Flags as ``a=1 b=x``, cut to ``width`` characters."""
    text = " ".join(f"{k}={v}" for k, v in flags.items())
    return text if len(text) <= width else text[: width - 1] + "…"


def scalar_columns(runs: Sequence[Run], wanted: Sequence[str], limit: int = 4) -> list[str]:
    """The scalar columns to show: those the config names, else the first few that exist."""
    if wanted:
        return list(dict.fromkeys(wanted))
    seen: dict[str, None] = {}
    for run in runs:
        for name, series in run.scalars.items():
            if "#" not in name and not series.system:
                seen.setdefault(name)
    return sorted(seen)[:limit]


def promote_json(result: PromoteResult, local_forge: bool) -> str:
    """The ``promote --json`` contract: decision, run, branch, PR, model md5s, record."""
    payload: dict[str, Any] = {
        "decision": result.decision.value,
        "summary": result.summary,
        "run_id": result.run_id,
        "branch": result.branch,
        "pr_number": result.pr_number,
        "pr_path" if local_forge else "pr_url": result.pr_url,
        "model_md5": dict(result.model_md5),
        "record": result.record,
        "conflicts": list(result.conflicts),
    }
    return _dump(payload)


def tracks_json(results: Sequence[tuple[str | None, str]]) -> str:
    """Each track's JSON (as one track would print it) in ``{"tracks": [...]}``, each with
    its ``track`` name."""
    import json

    tracks = [{"track": track, **json.loads(text)} for track, text in results]
    return _dump({"tracks": tracks})
