"""Registrations and histories for people (text, Markdown for a job summary) and scripts
(JSON)."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from typing import Any

from promoter.errors import PromoterError
from promoter.forges.base import Forge
from promoter.registry.champions import HistoryEntry, TrackHistory, histories
from promoter.registry.register import Registration
from promoter.registry.repo import Repository
from promoter.render.escape import code_span, md_escape
from promoter.render.format import (
    fmt_number,
    fmt_time,
    json_number,
)
from promoter.settings import Settings

log = logging.getLogger("promoter")

_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._:/#@+-]")


def one_line(results: Sequence[Registration]) -> str:
    """The job's summary line: each track's outcome."""
    if len(results) == 1:
        return results[0].summary
    return "; ".join(f"{r.name}: {r.summary}" for r in results) or "no track to register"


def registration_json(results: Sequence[Registration]) -> str:
    """``promoter register --json``: ``{"decision", "tracks": [...]}``."""
    from promoter.registry.register import overall

    return json.dumps(
        {
            "decision": overall(results).value,
            "tracks": [
                {
                    "name": r.name,
                    "track": r.track,
                    "decision": r.decision.value,
                    "summary": r.summary,
                    "run_id": r.run_id,
                    "tag": r.tag,
                    "version": r.version,
                    "commit": r.commit,
                    "created": r.created,
                    "pr_number": r.pr_number,
                    "pr_url": r.pr_url,
                }
                for r in results
            ],
        },
        indent=2,
    )


def history_json(tracks: Sequence[TrackHistory]) -> str:
    """``promoter history --json``: ``{"tracks": [{"name", "track", "base", "champions"}]}``."""
    return json.dumps({"tracks": [_track_data(t) for t in tracks]}, indent=2)


def _track_data(track: TrackHistory) -> dict[str, Any]:
    return {
        "name": track.name,
        "track": track.track,
        "base": track.base,
        "champions": [_entry_data(e) for e in track.entries],
    }


def _entry_data(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "commit": entry.commit,
        "date": entry.date,
        "run_id": entry.run_id,
        "op": entry.op,
        "objective": {
            "name": entry.objective_name,
            "direction": entry.direction,
            "value": json_number(entry.value),
        },
        "criteria": [
            {
                "criterion": c.criterion,
                "passed": c.passed,
                "values": {k: json_number(v) for k, v in c.values.items()},
            }
            for c in entry.criteria
        ],
        "tag": entry.tag,
        "version": entry.version,
        "pull_request": entry.pull_request,
        "record": entry.record,
    }


def history_lines(tracks: Sequence[TrackHistory]) -> list[str]:
    """``promoter history`` as text: one block per track, a line per champion."""
    lines: list[str] = []
    for track in tracks:
        name, direction = track.objective
        goal = f"{direction} {name}" if name else "objective"
        lines.append(f"{track.name} on {track.base}: {len(track.entries)} champions ({goal})")
        for e in track.entries:
            value = "—" if e.value is None else f"{e.value:.6g}"
            passed = sum(1 for c in e.criteria if c.passed)
            criteria = f"criteria {passed}/{len(e.criteria)}" if e.criteria else "no criteria"
            lines.append(
                f"  {e.tag or '(no tag)'}  {e.date}  {e.commit[:12]}  run {e.run_id[:8]}"
                f"  {name or 'objective'} {value}  {criteria}"
            )
    return lines


def history_markdown(tracks: Sequence[TrackHistory]) -> str:
    """The history for a job summary: a table per track and a Mermaid chart of the objective
    (GitHub renders Mermaid in Markdown; elsewhere the chart shows as its source)."""
    parts: list[str] = []
    for track in tracks:
        name, direction = track.objective
        parts.append(f"### Champions of {code_span(track.name)} on {code_span(track.base)}\n")
        if not track.entries:
            parts.append("No champion yet.\n")
            continue
        value_head = f"{md_escape(name)} ({md_escape(direction)})" if name else "Objective"
        parts.append(f"| Version | Merged | Run | {value_head} | Criteria | Commit |")
        parts.append("|---|---|---|--:|---|---|")
        for e in reversed(track.entries):
            passed = sum(1 for c in e.criteria if c.passed)
            criteria = (
                f"{'✅' if passed == len(e.criteria) else '❌'} {passed}/{len(e.criteria)}"
                if e.criteria
                else "—"
            )
            parts.append(
                f"| {code_span(e.tag) if e.tag else 'not registered'} | {fmt_time(e.date)} "
                f"| {code_span(e.run_id[:8])} | {fmt_number(e.value)} | {criteria} "
                f"| {code_span(e.commit[:12])} |"
            )
        parts.append("")
        chart = _mermaid(track)
        if chart:
            parts.append(chart)
    return "\n".join(parts) + "\n"


def _mermaid(track: TrackHistory) -> str | None:
    points = [e for e in track.entries if e.value is not None and math.isfinite(e.value)]
    if len(points) < 2:
        return None
    name, _ = track.objective
    labels = ", ".join(f'"{_mermaid_text(e.version or e.run_id[:8])}"' for e in points)
    values = ", ".join(f"{e.value:.6g}" for e in points)
    title = _mermaid_text(f"{track.name}: {name or 'objective'} of each champion")
    return (
        "```mermaid\nxychart-beta\n"
        f'  title "{title}"\n'
        f"  x-axis [{labels}]\n"
        f'  y-axis "{_mermaid_text(name or "objective")}"\n'
        f"  line [{values}]\n```\n"
    )


def _mermaid_text(text: str) -> str:
    # Inside a quoted Mermaid string: no quotes, brackets or directives from run data.
    return _MERMAID_UNSAFE.sub("_", text)[:80]


def registrations_markdown(results: Sequence[Registration]) -> str:
    """The registrations as a job summary's head."""
    from promoter.registry.register import overall

    lines = [f"## promoter: {overall(results).value}\n"]
    if not results:
        return lines[0] + "No track has this branch as its `pr.base`.\n"
    lines.append("| Track | Decision | Tag | Run | Commit | Pull request |")
    lines.append("|---|---|---|---|---|---|")
    for r in results:
        pull = "—"
        if r.pr_number is not None:
            pull = f"#&#8203;{r.pr_number}"
        run = code_span(r.run_id[:8] if r.run_id else None)
        commit = code_span(r.commit[:12] if r.commit else None)
        tag = code_span(r.tag) if r.tag else "—"
        lines.append(
            f"| {code_span(r.name)} | {md_escape(r.decision.value)} | {tag} | {run} "
            f"| {commit} | {pull} |"
        )
    lines.append("")
    lines += [f"- {code_span(r.name)}: {md_escape(r.summary)}" for r in results]
    return "\n".join(lines) + "\n"


def job_report(
    settings: Settings,
    forge: Forge,
    results: Sequence[Registration],
    repo: Repository | None = None,
) -> tuple[str, bytes | None]:
    """The push job's summary (registrations, then the history) and the history's plot.
    The registration is done by then: a history that cannot be read is said, not fatal."""
    from promoter.registry.plot import draw_history

    head = registrations_markdown(results)
    try:
        tracks = histories(settings, forge, repo)
    except PromoterError as e:
        log.warning("warning: the champions' history could not be read: %s", e)
        return head + f"\nThe champions' history could not be read: {md_escape(str(e))}\n", None
    return head + "\n" + history_markdown(tracks), draw_history(tracks)
