"""``/promote compare A [B]``: two runs side by side on the objective and the criteria."""

from __future__ import annotations

from promoter.candidates import select_best
from promoter.core.selection import Selection, Verdict
from promoter.render.escape import code_span, md_escape
from promoter.render.format import fmt_number
from promoter.runs.base import RunStore
from promoter.settings import Settings


def compare_table(
    settings: Settings, store: RunStore, first: str | None, second: str | None
) -> str:
    """A Markdown table: objective, eligibility and each criterion for A and B (or the
    champion when B is not given)."""
    if first is None:
        return "compare needs a run id: `compare <run-a> [<run-b>]`"
    selection, _ = select_best(settings, store, run=first)
    a = selection.verdicts[0]
    b: Verdict | None = None
    b_title = "champion"
    if second is not None:
        other, _ = select_best(settings, store, run=second)
        b = other.verdicts[0]
        b_title = f"run {b.run.short_id}"
    elif selection.champion is not None:
        b_title = f"champion {selection.champion.champion.run_id[:8]}"
    name = str(selection.policy.objective)
    rows = [
        f"| | run {code_span(a.run.short_id)} | {md_escape(b_title)} |",
        "|---|---|---|",
        f"| {md_escape(name)} | {fmt_number(a.objective)} | {_other_objective(selection, b)} |",
        f"| status | {a.run.status.value} | {b.run.status.value if b else '—'} |",
        f"| eligible | {_yes(a.eligible)} | {_yes(b.eligible) if b else '—'} |",
    ]
    for i, result in enumerate(a.criteria):
        theirs = _yes(b.criteria[i].passed) if b is not None else "—"
        rows.append(f"| {code_span(result.criterion.text)} | {_yes(result.passed)} | {theirs} |")
    if selection.improvement is not None and b is None:
        rows.append(f"| improvement | {fmt_number(selection.improvement)} | |")
    return "\n".join(rows)


def _other_objective(selection: Selection, b: Verdict | None) -> str:
    if b is not None:
        return str(fmt_number(b.objective))
    standing = selection.champion
    return str(fmt_number(standing.value)) if standing is not None else "—"


def _yes(value: bool) -> str:
    return "✅" if value else "❌"
