"""Readable terminal tables (rich) for ``promoter runs`` and ``promoter select``."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from promoter.cli.report import fmt_flags, fmt_value, scalar_columns
from promoter.core.expr import ExpressionError, ScalarRef, parse_scalar
from promoter.core.models import Run
from promoter.core.selection import Decision, Selection, Verdict, objective_text, scalar_value
from promoter.promotion.merge.plan import MergePlan
from promoter.promotion.merge.source import MergeMode, SourceMerge
from promoter.runs.base import RunListing

_DECISION_STYLE = {
    Decision.PROMOTE: "bold green",
    Decision.NOT_BETTER: "bold yellow",
    Decision.NO_CANDIDATE: "bold red",
}


def console() -> Console:
    """A console for stdout; CI logs (not a terminal) get 140 columns rather than 80."""
    wide = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140
    return Console(width=wide)


def print_runs(console: Console, listing: RunListing, scalars: Sequence[str]) -> None:
    """The runs table, newest first."""
    columns = scalar_columns(listing.runs, scalars)
    table = Table(title=f"{len(listing.runs)} runs", title_justify="left")
    for name in ("run", "op", "status", "started", "label", "flags"):
        table.add_column(name, overflow="fold" if name == "label" else "ellipsis")
    for name in columns:
        table.add_column(name, justify="right")
    for run in listing.runs:
        table.add_row(
            run.short_id,
            Text(run.op),
            run.status.value,
            run.started.strftime("%Y-%m-%d %H:%M") if run.started else "-",
            Text("" if run.label == fmt_flags(run.flags, width=10_000) else run.label),
            Text(fmt_flags(run.flags)),
            *(fmt_value(_last(run, c)) for c in columns),
        )
    console.print(table)


def _last(run: Run, name: str) -> float | None:
    """A column's value: ``name`` is a config scalar (``max:loss``) or a run's scalar key."""
    try:
        ref = parse_scalar(name)
    except ExpressionError:
        ref = ScalarRef(name)
    return scalar_value(run, ref)


def print_selection(console: Console, selection: Selection, show_all: bool = False) -> None:
    """Decision first, then the ranking, then why every other run was left out."""
    style = _DECISION_STYLE[selection.decision]
    console.print(Text.assemble((selection.decision.value.upper(), style), "  ", selection.summary))
    policy = selection.policy
    standing = selection.champion
    if standing is not None:
        value = fmt_value(standing.value)
        if policy.objective.newest:
            value = objective_text(policy.objective, standing.value)
        console.print(
            f"champion: {standing.champion.run_id[:8]} {policy.objective.scalar} = {value}"
            f" (from the {standing.value_source})"
        )
    criteria = [c.text for c in policy.criteria]
    table = Table(title=f"objective: {policy.objective}", title_justify="left")
    for name in ("rank", "run", "op", "status", str(policy.objective.scalar)):
        table.add_column(name, justify="right" if name == "rank" else "left", no_wrap=True)
    for text in criteria:
        table.add_column(Text(text), justify="center")
    table.add_column("why not", overflow="fold")
    ranked = [v for v in selection.verdicts if v.eligible]
    left_out = [v for v in selection.verdicts if not v.eligible]
    shown = selection.verdicts if show_all else [*ranked[:20], *left_out[:20]]
    for verdict in shown:
        marks = [
            Text("pass", "green") if r.passed else Text("FAIL", "red") for r in verdict.criteria
        ]
        table.add_row(
            str(verdict.rank) if verdict.rank else "-",
            verdict.run.short_id,
            Text(verdict.run.op),
            verdict.run.status.value,
            objective_text(policy.objective, verdict.objective)
            if policy.objective.newest
            else fmt_value(verdict.objective),
            *marks,
            Text("; ".join(verdict.reasons) or ("winner" if verdict.rank == 1 else "")),
        )
    console.print(table)
    if len(shown) < len(selection.verdicts):
        console.print(hidden_summary(ranked[20:], left_out[20:]))


def hidden_summary(ranked: Sequence[Verdict], left_out: Sequence[Verdict]) -> str:
    """One line on the runs a table did not show: how many, and why the ineligible ones are."""
    parts = []
    if ranked:
        parts.append(f"{len(ranked)} lower-ranked")
    if left_out:
        kinds = Counter(v.reasons[0].split(" ", 1)[0] for v in left_out if v.reasons)
        detail = ", ".join(f"{why}: {n}" for why, n in kinds.most_common())
        parts.append(f"{len(left_out)} ineligible ({detail})")
    return f"not shown: {' and '.join(parts)}; --all shows every run"


def print_merge(
    console: Console, plan: MergePlan, preview: bool, source: SourceMerge | None = None
) -> None:
    """How the source merges, then one line per file: copied (or to copy), skipped with the
    reason, refused; and the files both sides changed."""
    if source is not None:
        console.print(Text(source_line(source)))
    verb = "would copy" if preview else "copied"
    for copy in plan.copies:
        origin = copy.run_path or "(the run's flags)"
        console.print(Text(f"{verb:>10}  {copy.project_path}  <- {origin} [{copy.kind}]"))
    for skip in plan.skips:
        console.print(Text(f"{'skip':>10}  {skip.project_path or skip.run_path}: {skip.reason}"))
    for refusal in plan.refusals:
        console.print(Text(f"{'REFUSED':>10}  {refusal.path}: {refusal.reason}", style="bold red"))
    for path in source.conflicts if source else ():
        console.print(
            Text(f"{'CONFLICT':>10}  {path}: changed by the run and here", style="bold red")
        )


def source_line(source: SourceMerge) -> str:
    """``source: three-way merge ...`` or ``source: copied ...``, for people."""
    commit = (source.source_commit or "")[:12]
    if source.mode is MergeMode.COPY:
        return f"source: the run's snapshot copied ({source.reason})"
    counts = f"{len(source.changed)} changed, {len(source.conflicts)} conflicting"
    return f"source: three-way merge of the run's changes since its commit {commit}: {counts}"
