"""The promotion branch and the PR title, filled in from ``pr.branch`` and ``pr.title``."""

from __future__ import annotations

from collections.abc import Mapping

from promoter.config import PrConfig, check_template_fields
from promoter.core.selection import Selection, Verdict
from promoter.errors import UsageError
from promoter.settings import Settings
from promoter.tools.git import valid_branch_component
from promoter.tracks import default_branch


def format_template(template: str, values: Mapping[str, object], key: str) -> str:
    """``pr.branch`` / ``pr.title`` filled in; the fields were checked at config load."""
    try:
        check_template_fields(template)
        return template.format(**values)
    except (ValueError, TypeError, KeyError) as e:
        raise UsageError(f"{key}: {e}") from None


def branch_name(settings: Settings, selection: Selection, verdict: Verdict | None = None) -> str:
    """The promotion branch: ``pr.branch`` with ``{op}`` made safe for a git ref."""
    chosen = verdict or selection.winner
    assert chosen is not None
    objective = str(selection.policy.objective.scalar)
    return branch_of(settings, chosen.run.op, chosen.run.id, objective, chosen.objective)


def branch_of(
    settings: Settings, op: str, run_id: str, objective_name: str, value: float | None
) -> str:
    """``pr.branch`` for a run of ``op`` (also the branch a merged promotion came from)."""
    values = _values(settings, op, run_id, objective_name, value)
    values["op"] = valid_branch_component(op)
    template = settings.config.pr.branch or default_branch(settings.track)
    return format_template(template, values, "pr.branch")


def title_of(settings: Settings, selection: Selection, verdict: Verdict | None = None) -> str:
    """The PR title from ``pr.title`` (with ``newest``, the default names no value)."""
    template = settings.config.pr.title
    if selection.policy.objective.newest and template == PrConfig().title:
        template = "Promote {op} run {run_short}: the newest run"
    return format_template(template, _fields(settings, selection, verdict), "pr.title")


def _fields(
    settings: Settings, selection: Selection, verdict: Verdict | None = None
) -> dict[str, object]:
    chosen = verdict or selection.winner
    assert chosen is not None
    objective = str(selection.policy.objective.scalar)
    return _values(settings, chosen.run.op, chosen.run.id, objective, chosen.objective)


def _values(
    settings: Settings, op: str, run_id: str, objective_name: str, value: float | None
) -> dict[str, object]:
    return {
        "op": op,
        "track": settings.track or valid_branch_component(op),
        "run_id": run_id,
        "run_short": run_id[:8],
        "objective_name": objective_name,
        "objective_value": value if value is not None else float("nan"),
    }
