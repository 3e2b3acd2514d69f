"""DVC on S3 end to end: the runs come from a Guild remote on S3 (an empty local Guild home),
the model goes to an S3 DVC remote (dvc-s3, ``endpointurl`` pointing at moto on loopback),
real git with a bare remote; ``promoter verify`` finds the model, then reports it missing once
the object is deleted from the bucket."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from promoter.cli import main
from tests.promotion import PROMOTION_CONFIG, make_promotion_repo
from tests.repos import commit_all, dvc, dvc_exe, git
from tests.s3fixtures import GuildRemote

pytestmark = pytest.mark.slow

DVC_BUCKET = "dvc-store"


def _dvc_s3_available() -> bool:
    try:
        import dvc_s3  # noqa: F401
    except ImportError:
        return False
    return dvc_exe() is not None


def test_promote_and_verify_with_an_s3_dvc_remote(  # type: ignore[no-untyped-def]
    guild_remote: GuildRemote, s3_env, tmp_path: Path, monkeypatch, capsys
) -> None:
    if not _dvc_s3_available():
        pytest.skip("dvc[s3] is not installed")
    world, server = guild_remote.world, guild_remote.server
    empty_home = tmp_path / "empty-guild-home"
    empty_home.mkdir()
    monkeypatch.setenv("GUILD_HOME", str(empty_home))
    monkeypatch.setenv("GUILD_CONFIG", str(guild_remote.guild_config))
    server.make_bucket(DVC_BUCKET)
    config = PROMOTION_CONFIG.replace(
        "source: {operation: train}", "source: {remote: team, operation: train}"
    )
    repo = make_promotion_repo(tmp_path, config)
    dvc(repo.work, "remote", "add", "-d", "-f", "s3store", f"s3://{DVC_BUCKET}/models")
    dvc(repo.work, "remote", "modify", "s3store", "endpointurl", server.endpoint)
    commit_all(repo.work, "models go to S3")
    git(repo.work, "push", "-q", "origin", "main")

    forge = tmp_path / "forge"
    capsys.readouterr()
    code = main(["promote", "--project", str(repo.work), "--forge-dir", str(forge), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    best = world["best"]
    assert result["decision"] == "promoted" and result["run_id"] == best
    md5 = hashlib.md5((world.home / "runs" / best / "model.pkl").read_bytes()).hexdigest()
    assert result["model_md5"] == {"models/model.pkl": md5}
    key = f"models/files/md5/{md5[:2]}/{md5[2:]}"
    assert server.keys(DVC_BUCKET, "models/") == [key]
    assert not any(repo.dvc_remote.rglob("*")), "nothing went to the local DVC remote"

    git(repo.work, "fetch", "-q", "origin", "promote/train")
    capsys.readouterr()
    assert main(["verify", "--project", str(repo.work), "FETCH_HEAD"]) == 0
    out = capsys.readouterr().out
    assert "models/model.pkl: present in DVC remote s3store" in out

    server.aws("s3", "rm", "--only-show-errors", f"s3://{DVC_BUCKET}/{key}")
    assert main(["verify", "--project", str(repo.work), "FETCH_HEAD"]) == 1
    captured = capsys.readouterr()
    assert "models/model.pkl: not in DVC remote s3store" in captured.out + captured.err
