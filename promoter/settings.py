"""Everything a command needs, resolved once at the edge (CLI or CI host) into one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from promoter.config import Config, find_config, load_config
from promoter.errors import UsageError


@dataclass(frozen=True, slots=True)
class Settings:
    """The project, its validated config, and what the run store may read.

    ``source_options`` are the run store's options given on the command line or by the CI
    host (``guild_home``); ``env`` is the environment the settings were resolved from, so
    that nothing below the edge reads ``os.environ`` itself.
    """

    project: Path
    config: Config
    config_path: Path | None
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source_options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    cache_dir: Path | None = None
    track: str | None = None
    """The track these settings promote (``None``: the file is one track); ``config`` is
    then that track's config."""
    only_track: str | None = None
    """``--track``: commands work on this track of ``tracks:`` only."""

    @property
    def config_origin(self) -> str:
        """The config file as error messages name it."""
        return str(self.config_path or ".promoter.yml")

    @property
    def champion_file(self) -> Path:
        """The champion's file in the project, for this track."""
        from promoter.tracks import champion_file

        return champion_file(self.track)

    def for_operation(self, op: str) -> Settings:
        """These settings for the track whose runs ``op`` belongs to (or ``--track``'s)."""
        from promoter.core.selection import op_matches

        tracks = self.tracks()
        if len(tracks) == 1:
            return tracks[0]
        matching = [t for t in tracks if op_matches(op, t.config.source.operations)]
        if len(matching) != 1:
            names = ", ".join(t.track or "" for t in (matching or tracks))
            raise UsageError(
                f"runs of {op!r} belong to {len(matching)} tracks: use --track ({names})"
            )
        return matching[0]

    def tracks(self) -> list[Settings]:
        """These settings once per track of the config (or for ``--track``'s only)."""
        from promoter.tracks import tracks_of

        chosen = tracks_of(self.config, self.only_track)
        return [replace(self, config=t.config, track=t.name) for t in chosen]


def resolve_settings(
    project: Path | None = None,
    config_path: Path | None = None,
    source_options: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    use_cache: bool = True,
    track: str | None = None,
) -> Settings:
    """Resolve the project, its config and the run cache (``$PROMOTER_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/promoter``, else ``~/.cache/promoter``; none with ``use_cache=False``
    or ``PROMOTER_NO_CACHE=1``)."""
    env = MappingProxyType(dict(os.environ if env is None else env))
    root = (project or Path.cwd()).resolve()
    if not root.is_dir():
        raise UsageError(f"project directory {root} does not exist")
    path = find_config(root, config_path)
    config = load_config(path)
    cache = _cache_dir(env) if use_cache and env.get("PROMOTER_NO_CACHE") != "1" else None
    options = MappingProxyType({k: v for k, v in (source_options or {}).items() if v})
    settings = Settings(root, config, path, env, options, cache, only_track=track)
    settings.tracks()  # an unknown --track fails now, with the names that exist
    return settings


def _cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("PROMOTER_CACHE_DIR"):
        return Path(env["PROMOTER_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "promoter"
    return Path.home() / ".cache" / "promoter"
