"""Which Guild remote ``source.remote`` means: a name from Guild's user config, or inline.

Guild looks for its user config at ``$GUILD_CONFIG``, else ``./guild-config.yml``, else
``~/.guild/config.yml``; promoter looks in the same places, ``.`` being the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from promoter.config import RemoteConfig, SourceConfig, check_remote
from promoter.errors import ConfigError

KEY = "source.remote"


@dataclass(frozen=True, slots=True)
class S3Remote:
    """An S3 bucket and root as ``guild push`` writes them, and where it was defined."""

    name: str
    bucket: str
    root: str
    region: str | None
    endpoint_url: str | None
    origin: str
    """The file that defines the remote (``.promoter.yml`` or Guild's user config)."""
    bucket_key: str
    """The key of the bucket in that file, for errors about the bucket."""

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` under the root, joined as Guild joins them (a root of
        ``/`` or empty is the bucket's top; any other root is kept as written)."""
        return "/".join(p for p in (self.root, *parts) if p not in ("/", ""))

    @property
    def url(self) -> str:
        """``s3://bucket/root`` for messages."""
        return f"s3://{self.bucket}/{self.key()}".rstrip("/")

    @property
    def described(self) -> str:
        """The remote as messages name it."""
        name = f"Guild remote {self.name!r} " if self.name else "Guild remote "
        endpoint = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"{name}{self.url}{endpoint} (from {self.origin})"


def resolve_remote(
    remote: str | RemoteConfig,
    config_origin: str,
    project: Path,
    env: Mapping[str, str],
) -> S3Remote:
    """The S3 remote ``remote`` names (looked up in Guild's user config) or gives inline.

    ``AWS_ENDPOINT_URL`` is left to botocore unless ``endpoint_url`` is given inline.
    """
    if isinstance(remote, RemoteConfig):
        return S3Remote(
            "",
            remote.bucket,
            remote.root,
            remote.region,
            remote.endpoint_url,
            config_origin,
            f"{KEY}.bucket",
        )
    path = user_config_path(project, env)
    remotes = _remotes_in(path, config_origin)
    found = remotes.get(remote)
    if found is None:
        known = ", ".join(sorted(remotes)) or "none"
        raise ConfigError(
            config_origin, KEY, f"no remote {remote!r} in {path} (remotes there: {known})"
        )
    return _from_guild(remote, found, path, config_origin)


def user_config_path(project: Path, env: Mapping[str, str]) -> Path:
    """Guild's user config: ``$GUILD_CONFIG``, else ``guild-config.yml`` in the project,
    else ``~/.guild/config.yml``."""
    if env.get("GUILD_CONFIG"):
        return Path(env["GUILD_CONFIG"]).expanduser()
    local = project / "guild-config.yml"
    if local.is_file():
        return local
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".guild" / "config.yml"


def _remotes_in(path: Path, config_origin: str) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            config_origin,
            KEY,
            f"names a Guild remote but Guild's user config {path} does not exist "
            "(set $GUILD_CONFIG, or give the remote inline: {type: s3, bucket: ..., root: ...})",
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(str(path), None, f"cannot read Guild's user config: {e}") from None
    remotes = data.get("remotes") if isinstance(data, dict) else None
    if remotes is None:
        return {}
    if not isinstance(remotes, dict):
        raise ConfigError(str(path), "remotes", "must be a mapping of remote names")
    return {str(k): v for k, v in remotes.items()}


def _from_guild(name: str, entry: object, path: Path, config_origin: str) -> S3Remote:
    where = f"remotes.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(str(path), where, "must be a mapping (type, bucket, root, region)")
    kind = entry.get("type")
    if kind != "s3":
        raise ConfigError(
            config_origin,
            KEY,
            f"remote {name!r} in {path} is of type {kind!r}: promoter reads s3 remotes only",
        )
    bucket, root, region = entry.get("bucket"), entry.get("root", ""), entry.get("region")
    if not isinstance(bucket, str) or not bucket:
        raise ConfigError(str(path), f"{where}.bucket", "required: the S3 bucket's name")
    if not isinstance(root, str) or not (region is None or isinstance(region, str)):
        raise ConfigError(str(path), where, "root and region must be text")
    try:
        check_remote(SourceConfig(remote=RemoteConfig(type="s3", bucket=bucket, root=root)))
    except ValueError as e:
        raise ConfigError(str(path), where, str(e)) from None
    return S3Remote(name, bucket, root, region, None, str(path), f"{where}.bucket")
