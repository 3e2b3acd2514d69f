"""Everything a command needs, resolved once at the edge (CLI or CI host) into one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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

    @property
    def config_origin(self) -> str:
        """The config file as error messages name it."""
        return str(self.config_path or ".promoter.yml")


def resolve_settings(
    project: Path | None = None,
    config_path: Path | None = None,
    source_options: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    use_cache: bool = True,
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
    return Settings(root, config, path, env, options, cache)


def _cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("PROMOTER_CACHE_DIR"):
        return Path(env["PROMOTER_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "promoter"
    return Path.home() / ".cache" / "promoter"
