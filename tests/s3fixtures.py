"""Session fixtures: an S3 server on loopback, and the session's Guild runs pushed into it
by ``guild push`` (a Guild remote), with one run deleted remotely (in ``trash/``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from promoter.runs.guild.remote import RemoteRunStore
from promoter.runs.guild.remotes import S3Remote
from tests.s3server import (
    S3Server,
    aws_exe,
    guild_on_s3,
    moto_exe,
    s3_server,
    write_guild_config,
)

if TYPE_CHECKING:
    from tests.conftest import GuildWorld

BUCKET = "guild-runs"
ROOT = "team/guild"
REMOTE = "team"


@dataclass
class GuildRemote:
    """The session's runs as ``guild push`` left them in S3, and how to reach them."""

    server: S3Server
    world: GuildWorld
    guild_config: Path
    bucket: str = BUCKET
    root: str = ROOT
    name: str = REMOTE

    def spec(self, endpoint: str | None = None) -> S3Remote:
        return S3Remote(self.name, self.bucket, self.root, None, endpoint, "test", "bucket")

    def store(self, cache: Path | None = None) -> RemoteRunStore:
        return RemoteRunStore(self.spec(), cache, self.server.env)

    def guild(self, *args: str) -> str:
        """Run ``guild`` in the world's project with the remote configured."""
        return guild_on_s3(
            self.world.project, self.world.home, self.server, self.guild_config, *args
        )


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port, for the whole session."""
    if moto_exe() is None or aws_exe() is None:
        pytest.skip("moto[server] and awscli are not installed (pip install -e '.[dev]')")
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The process environment pointed at the server (botocore reads os.environ)."""
    for name, value in s3.env.items():
        if name not in ("HOME", "PATH"):
            monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "GUILD_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return s3


@pytest.fixture(scope="session")
def guild_remote(s3: S3Server, guild_world: GuildWorld, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Every live run of the session's Guild home pushed by ``guild push``; the deleted run
    pushed too, then deleted remotely by ``guild runs rm --remote`` (so it is in trash/)."""
    config = write_guild_config(
        tmp_path_factory.mktemp("guild-config") / "config.yml",
        {REMOTE: {"type": "s3", "bucket": BUCKET, "root": ROOT, "region": "us-east-1"}},
    )
    s3.make_bucket(BUCKET)
    remote = GuildRemote(s3, guild_world, config)
    deleted = guild_world["deleted"]
    remote.guild("push", REMOTE, "-y")
    remote.guild("runs", "restore", deleted, "-y")
    try:
        remote.guild("push", REMOTE, deleted, "-y")
        remote.guild("runs", "rm", "--remote", REMOTE, deleted, "-y")
    finally:
        remote.guild("runs", "rm", deleted, "-y")
    return remote
