"""Several models in one repository: ``tracks:``, each judged only against its own champion.

A track is the config file with the track's own keys laid over it, section by section, and
its own champion file, branch and PR. Without ``tracks:`` the whole file is one track, named
after the operation, whose champion stays at ``.promoter/champion.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec

from promoter.config import Config, TrackConfig, check_semantics, split_validation_error
from promoter.core.champion import CHAMPION_FILE
from promoter.errors import ConfigError, UsageError

# GTO's rule for artifact names: the registration tags are "<track>@v<version>".
NAME: Final = re.compile(r"[a-z0-9]([a-z0-9-/]*[a-z0-9])?")
SECTIONS: Final = ("source", "select", "merge", "pr")
BAD_NAME: Final = (
    "{name!r} is not a track name: lowercase letters, digits, '-' and '/', starting and "
    "ending with a letter or digit (names become GTO tags <name>@v<version>)"
)
UNKNOWN: Final = "no track {name!r} in the config (tracks: {known})"
TRACKS_DIR: Final = Path(".promoter") / "tracks"


@dataclass(frozen=True, slots=True)
class Track:
    """One model's promotion: its name (``None`` for a file without ``tracks:``) and its own
    config."""

    name: str | None
    config: Config


def champion_file(track: str | None) -> Path:
    """Where a track's champion is kept in the project."""
    return CHAMPION_FILE if track is None else TRACKS_DIR / track / "champion.yaml"


def default_branch(track: str | None) -> str:
    """The promotion branch when ``pr.branch`` is not set."""
    return "promote/{op}" if track is None else "promote/{track}"


def tracks_of(config: Config, only: str | None = None) -> list[Track]:
    """The tracks of a config (one, unnamed, without ``tracks:``), or the one named."""
    if not config.tracks:
        if only is not None:
            raise UsageError(UNKNOWN.format(name=only, known="none: the file is one track"))
        return [Track(None, config)]
    tracks = [Track(t.name, _effective(config, t)) for t in config.tracks]
    if only is None:
        return tracks
    found = [t for t in tracks if t.name == only]
    if not found:
        known = ", ".join(t.name or "" for t in tracks)
        raise UsageError(UNKNOWN.format(name=only, known=known))
    return found


def check_tracks(config: Config, origin: str) -> None:
    """Every track's name is valid and unique, and its config valid (at load time)."""
    seen: set[str] = set()
    for i, track in enumerate(config.tracks):
        if not NAME.fullmatch(track.name):
            raise ConfigError(origin, f"tracks[{i}].name", BAD_NAME.format(name=track.name))
        if track.name in seen:
            raise ConfigError(origin, f"tracks[{i}].name", f"{track.name!r} is used twice")
        seen.add(track.name)
        try:
            effective = _effective(config, track)
        except msgspec.ValidationError as e:
            key, reason = split_validation_error(str(e), Config)
            where = f"tracks[{i}].{key}" if key else f"tracks[{i}]"
            raise ConfigError(origin, where, reason) from None
        try:
            check_semantics(effective, origin)
        except ConfigError as e:
            raise ConfigError(origin, f"tracks[{i}].{e.key}", e.reason) from None


def _effective(config: Config, track: TrackConfig) -> Config:
    """The file's config with the track's keys laid over each section."""
    data: dict[str, Any] = msgspec.to_builtins(config)
    data.pop("tracks")
    for section in SECTIONS:
        data[section] = {**data[section], **getattr(track, section)}
    effective: Config = msgspec.convert(data, Config, strict=True)
    return effective
