"""Each track's champions over the base branch's history: commit, date, run, objective,
criteria and the version tag that registered it (``promoter history``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from promoter.forges.base import Forge
from promoter.registry.history import ChampionChange, champion_changes, read_yaml
from promoter.registry.plan import pull_number_in
from promoter.registry.repo import Repository, open_repository
from promoter.registry.versions import Version, registry_name, tag_version
from promoter.settings import Settings


@dataclass(frozen=True, slots=True)
class CriterionValue:
    """An acceptance criterion as the champion's record has it."""

    criterion: str
    passed: bool | None
    values: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One champion: the commit of the base that made it champion, and what it was."""

    commit: str
    date: str
    run_id: str
    op: str | None
    objective_name: str | None
    direction: str | None
    value: float | None
    criteria: tuple[CriterionValue, ...] = ()
    tag: str | None = None
    version: str | None = None
    pull_request: int | None = None
    record: str | None = None


@dataclass(frozen=True, slots=True)
class TrackHistory:
    """A track's champions, oldest first."""

    name: str
    track: str | None
    base: str
    entries: tuple[HistoryEntry, ...] = field(default_factory=tuple)

    @property
    def objective(self) -> tuple[str | None, str | None]:
        """The objective's name and direction, as the newest champion has them."""
        if not self.entries:
            return None, None
        last = self.entries[-1]
        return last.objective_name, last.direction


def histories(
    settings: Settings, forge: Forge | None = None, repo: Repository | None = None
) -> list[TrackHistory]:
    """The history of every track (or ``--track``'s), from the base as the remote has it
    (``repo``: one opened already, its bases fetched)."""
    repo = repo or open_repository(settings.project, forge)
    tags = repo.tags()
    return [track_history(each, repo, tags) for each in settings.tracks()]


def track_history(
    settings: Settings, repo: Repository, tags: Sequence[tuple[str, str, str | None]]
) -> TrackHistory:
    """One track's champions on its ``pr.base``."""
    base = settings.config.pr.base
    ref = repo.base_ref(base)
    path = repo.prefix + settings.champion_file.as_posix()
    changes = champion_changes(repo.git, ref, path)
    op = changes[-1].document.op if changes else configured_op(settings)
    name = registry_name(settings.track, op)
    entries = tuple(_entry(repo, change, name, tags) for change in changes)
    return TrackHistory(name, settings.track, base, entries)


def configured_op(settings: Settings) -> str | None:
    """The one operation ``source.operation`` names, when it names one and no glob."""
    operations = settings.config.source.operations
    if len(operations) == 1 and not any(c in operations[0] for c in "*?["):
        return operations[0]
    return None


def _entry(
    repo: Repository,
    change: ChampionChange,
    name: str,
    tags: Sequence[tuple[str, str, str | None]],
) -> HistoryEntry:
    document = change.document
    versions = [
        (version, tag)
        for tag, _, peeled in tags
        if peeled == change.commit and (version := tag_version(tag, name)) is not None
    ]
    best: tuple[Version, str] | None = max(versions) if versions else None
    record = document.record
    return HistoryEntry(
        commit=change.commit,
        date=change.date,
        run_id=document.run_id,
        op=document.op,
        objective_name=document.objective.name,
        direction=document.objective.direction,
        value=document.objective.value,
        criteria=_criteria(repo, change.commit, repo.prefix + record) if record else (),
        tag=best[1] if best else None,
        version=str(best[0]) if best else None,
        pull_request=pull_number_in(change.message),
        record=record,
    )


def _criteria(repo: Repository, commit: str, path: str) -> tuple[CriterionValue, ...]:
    data: Any = read_yaml(repo.git, commit, path)
    rows = data.get("criteria") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return ()
    found = []
    for row in rows:
        if not isinstance(row, dict) or "criterion" not in row:
            continue
        values = row.get("values") if isinstance(row.get("values"), dict) else {}
        passed = row.get("passed")
        found.append(
            CriterionValue(
                str(row["criterion"]),
                passed if isinstance(passed, bool) else None,
                {str(k): _number(v) for k, v in (values or {}).items()},
            )
        )
    return tuple(found)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
