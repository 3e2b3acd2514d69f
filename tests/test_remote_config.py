"""``source.remote``: validated with the rest of the config, then resolved against Guild's
user config (``$GUILD_CONFIG``, else ``guild-config.yml`` in the project, else
``~/.guild/config.yml``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from promoter.config import RemoteConfig, parse_config
from promoter.errors import ConfigError
from promoter.runs.guild.remotes import resolve_remote, user_config_path


def _parse(text: str):  # type: ignore[no-untyped-def]
    return parse_config(yaml.safe_load(text), "p.yml")


def test_a_name_or_an_inline_remote() -> None:
    assert _parse("source: {remote: team}").source.remote == "team"
    inline = _parse(
        "source: {remote: {type: s3, bucket: my-runs, root: guild, region: eu-west-1, "
        "endpoint_url: 'http://127.0.0.1:9000'}}"
    ).source.remote
    assert inline == RemoteConfig(
        type="s3",
        bucket="my-runs",
        root="guild",
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:9000",
    )


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("source: {remote: {type: s3}}", "source.remote.bucket", "required key is missing"),
        (
            "source: {remote: {type: gs, bucket: b-1}}",
            "source.remote.type",
            "'gs' is not one of: s3",
        ),
        (
            "source: {remote: {type: s3, bucket: b-1, prefix: x}}",
            "source.remote.prefix",
            "unknown key",
        ),
        (
            "source: {remote: {type: s3, bucket: Bad_Bucket}}",
            "source.remote",
            "bucket 'Bad_Bucket' is not an S3 bucket name",
        ),
        (
            "source: {remote: {type: s3, bucket: b-1, endpoint_url: localhost:9000}}",
            "source.remote",
            "endpoint_url 'localhost:9000' is not an http:// or https:// URL",
        ),
        ("source: {remote: '  '}", "source.remote", "not empty text"),
        (
            "source: {remote: team, guild_home: runs}",
            "source.remote",
            "set source.guild_home or source.remote, not both",
        ),
        ("source: {remote: 3}", "source.remote", "expected text or a mapping or nothing"),
    ],
)
def test_bad_remotes_name_the_key(text: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _parse(text)
    assert raised.value.path == "p.yml"
    assert raised.value.key == key
    assert reason in raised.value.reason


def _guild_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_guild_user_config_is_found_where_guild_looks(tmp_path: Path) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    assert user_config_path(project, {"HOME": str(home)}) == home / ".guild" / "config.yml"
    _guild_config(project / "guild-config.yml", "remotes: {}")
    assert user_config_path(project, {"HOME": str(home)}) == project / "guild-config.yml"
    explicit = tmp_path / "elsewhere.yml"
    assert user_config_path(project, {"GUILD_CONFIG": str(explicit)}) == explicit


def test_a_named_remote_is_read_from_guilds_config(tmp_path: Path) -> None:
    config = _guild_config(
        tmp_path / "home" / ".guild" / "config.yml",
        "remotes:\n"
        "  team: {type: s3, bucket: team-runs, root: guild, region: eu-west-1}\n"
        "  box: {type: ssh, host: gpu-box}\n",
    )
    env = {"HOME": str(tmp_path / "home")}
    remote = resolve_remote("team", "p.yml", tmp_path, env)
    assert (remote.bucket, remote.root, remote.region, remote.origin) == (
        "team-runs",
        "guild",
        "eu-west-1",
        str(config),
    )
    assert remote.key("runs", "abc") == "guild/runs/abc"
    assert remote.url == "s3://team-runs/guild"
    with pytest.raises(
        ConfigError, match=r"no remote 'nope' in .*config.yml \(remotes there: box, team\)"
    ):
        resolve_remote("nope", "p.yml", tmp_path, env)
    with pytest.raises(ConfigError, match="of type 'ssh': promoter reads s3 remotes only"):
        resolve_remote("box", "p.yml", tmp_path, env)


def test_roots_join_as_guild_joins_them() -> None:
    inline = resolve_remote(RemoteConfig(type="s3", bucket="b-1", root="/"), "p.yml", Path(), {})
    assert inline.key("runs", "x") == "runs/x" and inline.key("meta-id") == "meta-id"
    assert inline.url == "s3://b-1"
    nested = resolve_remote(RemoteConfig(type="s3", bucket="b-1", root="a/b"), "p.yml", Path(), {})
    assert nested.key("runs") == "a/b/runs"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "Guild's user config .* does not exist"),
        ("remotes: [a]", "must be a mapping of remote names"),
        ("remotes: {team: 3}", "must be a mapping"),
        ("remotes: {team: {type: s3}}", "required: the S3 bucket's name"),
        ("remotes: {team: {type: s3, bucket: B!}}", "is not an S3 bucket name"),
        ("remotes: {team: {type: s3, bucket: b-1, root: 3}}", "root and region must be text"),
        ("remotes: [unclosed", "cannot read Guild's user config"),
    ],
)
def test_a_bad_guild_config_is_a_config_error(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "guild.yml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        resolve_remote("team", "p.yml", tmp_path, {"GUILD_CONFIG": str(path)})


def test_no_remotes_section_lists_none(tmp_path: Path) -> None:
    path = _guild_config(tmp_path / "g.yml", "other: 1\n")
    with pytest.raises(ConfigError, match=r"remotes there: none"):
        resolve_remote("team", "p.yml", tmp_path, {"GUILD_CONFIG": str(path)})
