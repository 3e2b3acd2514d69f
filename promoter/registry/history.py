"""The champions of a track over the base branch's history, read from git alone.

Each commit on the base's first-parent line that changed the track's ``champion.yaml`` is a
merge (or squash) of a promotion; the commit where a run first appears is where it became
the champion: the commit a registration tags.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import msgspec
import yaml

from promoter.core.champion import ChampionDocument
from promoter.tools.git import Git

log = logging.getLogger("promoter")


@dataclass(frozen=True, slots=True)
class ChampionChange:
    """A commit on the base branch that made a run the track's champion."""

    commit: str
    date: str
    """The commit's committer date (when the merge landed), ISO 8601."""
    message: str
    """The whole commit message (GitLab names the merge request in its body)."""
    document: ChampionDocument

    @property
    def run_id(self) -> str:
        """The champion's run id."""
        return self.document.run_id


def champion_changes(git: Git, ref: str, path: str) -> list[ChampionChange]:
    """Every run that became the champion at ``path`` on ``ref``'s first-parent line, oldest
    first; a commit that rewrote the file for the same run counts once, at its first."""
    changes: list[ChampionChange] = []
    for sha, date, message in reversed(git.first_parent_changes(ref, path)):
        document = read_champion(git, sha, path)
        if document is None:
            continue
        if changes and changes[-1].run_id == document.run_id:
            continue
        changes.append(ChampionChange(sha, date, message, document))
    return changes


def current_champion(git: Git, ref: str, path: str) -> ChampionDocument | None:
    """The champion at ``ref`` (``None`` when there is none, or its file is unreadable)."""
    return read_champion(git, ref, path)


def read_champion(git: Git, ref: str, path: str) -> ChampionDocument | None:
    """``champion.yaml`` at ``ref``, or ``None`` when absent or unreadable (said in the log:
    history goes on past a broken file)."""
    data = read_yaml(git, ref, path)
    if data is None:
        return None
    try:
        document: ChampionDocument = msgspec.convert(data, ChampionDocument, strict=False)
    except msgspec.ValidationError as e:
        log.warning("warning: %s at %s is not a champion file: %s", path, ref[:12], e)
        return None
    return document


def read_yaml(git: Git, ref: str, path: str) -> Any:
    """The YAML document at ``ref:path``, or ``None`` when absent or not YAML."""
    data = git.show_file(ref, path)
    if data is None:
        return None
    try:
        return yaml.safe_load(data.decode("utf-8", errors="replace"))
    except yaml.YAMLError as e:
        log.warning("warning: %s at %s is not valid YAML: %s", path, ref[:12], e)
        return None
