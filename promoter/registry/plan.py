"""Deciding a registration from facts alone: which tag, on which commit, or why none.

Pure: the facts (the champion on the base, the commit that made it champion, the tags that
exist, what a push changed) come in; a plan comes out. ``register.py`` gathers and acts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from promoter.core.champion import ChampionDocument
from promoter.registry.history import ChampionChange
from promoter.registry.versions import Bump, Version, next_version, tag_name, tag_version

NO_CHAMPION: Final = "{base} has no champion of {name} yet: nothing to register"
NOT_FOUND: Final = (
    "cannot tell which commit of {base} made run {run} the champion of {name}: nothing registered"
)
NO_PROMOTION: Final = (
    "this push brings no promotion of {name}: run {run} was the champion before it"
)
NOT_REGISTERED_HINT: Final = " (it is not registered yet: run `promoter register`)"
ALREADY: Final = "run {run} of {name} is registered already as {tag} (on {commit})"
CREATE: Final = "run {run} of {name} registered as {tag} on {commit}"
DRY_RUN: Final = "run {run} of {name} would be registered as {tag} on {commit} (dry run)"

_MERGE_SUBJECT = re.compile(r"Merge pull request #(\d+) from ")
_SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*\Z")
_GITLAB_MERGE = re.compile(r"See merge request [\w.\-/]+!(\d+)")


class Decision(StrEnum):
    """What a registration concludes (the CI ``decision`` output)."""

    REGISTERED = "registered"
    IGNORED = "ignored"
    DRY_RUN = "dry-run"
    """A tag would be made (``--dry-run``): nothing was created or pushed."""


@dataclass(frozen=True, slots=True)
class RegistrationFacts:
    """What the plan is made from."""

    name: str
    base: str
    bump: Bump
    champion: ChampionDocument | None
    introduced: ChampionChange | None
    """The commit of the base that made the current champion champion."""
    tags: Sequence[tuple[str, str, str | None]]
    """``(name, object, peeled commit)`` of every tag where registrations are kept."""
    pushed: bool = False
    """A push event: only a push that changed the champion registers."""
    before_champion: str | None = None
    """The champion's run id before the push (``None``: none, or a new branch)."""
    before_known: bool = True
    """Whether the commit before the push could be read."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A tag to create, one that exists already, or why there is none."""

    decision: Decision
    summary: str
    create: bool = False
    tag: str | None = None
    version: Version | None = None
    commit: str | None = None
    run_id: str | None = None


def plan_registration(facts: RegistrationFacts) -> Plan:
    """The plan for one track: register the champion on the commit that made it champion,
    once; a push that changed no champion registers nothing."""
    name, base, champion = facts.name, facts.base, facts.champion
    if champion is None:
        return Plan(Decision.IGNORED, NO_CHAMPION.format(base=base, name=name))
    run = champion.run_id
    introduced = facts.introduced
    if introduced is None or introduced.run_id != run:
        return Plan(
            Decision.IGNORED, NOT_FOUND.format(base=base, run=run[:8], name=name), run_id=run
        )
    commit = introduced.commit
    existing = [
        (version, tag)
        for tag, _, peeled in facts.tags
        if (version := tag_version(tag, name)) is not None and peeled == commit
    ]
    if facts.pushed and facts.before_known and facts.before_champion == run:
        summary = NO_PROMOTION.format(name=name, run=run[:8])
        if not existing:
            summary += NOT_REGISTERED_HINT
        return Plan(Decision.IGNORED, summary, run_id=run)
    if existing:
        version, tag = max(existing)
        summary = ALREADY.format(run=run[:8], name=name, tag=tag, commit=commit[:12])
        return Plan(Decision.REGISTERED, summary, False, tag, version, commit, run)
    versions = [v for tag, _, _ in facts.tags if (v := tag_version(tag, name)) is not None]
    version = next_version(versions, facts.bump)
    tag = tag_name(name, version)
    summary = CREATE.format(run=run[:8], name=name, tag=tag, commit=commit[:12])
    return Plan(Decision.REGISTERED, summary, True, tag, version, commit, run)


def pull_number_in(message: str) -> int | None:
    """The pull (merge) request a merge commit names: GitHub's merge and squash subjects,
    GitLab's "See merge request group/project!N"."""
    subject = message.split("\n", 1)[0]
    for pattern, text in (
        (_MERGE_SUBJECT, subject),
        (_SQUASH_SUBJECT, subject),
        (_GITLAB_MERGE, message),
    ):
        found = pattern.search(text)
        if found:
            return int(found.group(1))
    return None


def tag_message(
    plan: Plan,
    champion: ChampionDocument,
    name: str,
    pull: tuple[int | None, str | None],
) -> str:
    """The annotated tag's message: the run, the pull request, the record; trailers last."""
    assert plan.tag is not None and plan.commit is not None and plan.version is not None
    number, url = pull
    objective = champion.objective
    op = _one_line(champion.op or "") or "unknown op"
    value = "" if objective.value is None else f" = {objective.value:.6g}"
    goal = _one_line(f"{objective.direction or ''} {objective.name or ''}")
    pr_line = "Pull request: not found"
    if number is not None:
        pr_line = f"Pull request: #{number}" + (f" {url}" if url else "")
    lines = [
        f"{plan.tag}: run {champion.run_id[:8]} of {op}",
        "",
        f"Run: {champion.run_id} ({op})",
        pr_line,
        f"Objective: {goal}{value}" if goal else "Objective: not recorded",
        f"Record: {_one_line(champion.record or '') or 'not recorded'}",
        f"Merge commit: {plan.commit}",
        "",
        f"Promoter-Run: {champion.run_id}",
        f"Promoter-Track: {name}",
    ]
    if number is not None:
        lines.append(f"Promoter-Pull-Request: {number}")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    # Values from champion.yaml stay on their line: none can add a trailer to the message.
    return " ".join(text.split())
