"""Runs read from a Guild remote on S3: real runs pushed by real ``guild push`` (the ``aws``
command) into moto's S3 server on loopback, read with an empty local Guild home, compared with
the same runs read from the home that pushed them. moto's request recorder shows what was
fetched."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from promoter.cli import main
from promoter.cli.report import listing_json
from promoter.runs.guild.remote import RemoteRunStore
from promoter.runs.guild.remoteindex import LISTING_ATTRS, group_runs, safe_path
from promoter.runs.guild.remotes import S3Remote
from promoter.runs.guild.s3 import S3Object
from promoter.runs.guild.store import GuildRunStore
from tests.guildrun import guild_env, guild_exe
from tests.s3fixtures import BUCKET, ROOT, GuildRemote
from tests.s3server import object_gets, write_guild_config

pytestmark = pytest.mark.slow

SELECT_CONFIG = """\
source: {{remote: {remote}, operation: train}}
select:
  objective: max val_acc
  where: ["latency_ms <= 50"]
"""


def _stable(payload: dict, running: str) -> dict:  # type: ignore[type-arg]
    """The listing without the values of the run that is still running (it moves on)."""
    for run in payload["runs"]:
        if run["id"] == running:
            run["scalars"] = run["stopped"] = None
    return payload


def _project(tmp_path: Path, remote: str = "team") -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".promoter.yml").write_text(SELECT_CONFIG.format(remote=remote))
    return project


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty local Guild home, and a run cache of this test's own (the session's may
    already hold what this test must see fetched)."""
    home = tmp_path / "empty-guild-home"
    home.mkdir()
    monkeypatch.setenv("GUILD_HOME", str(home))
    monkeypatch.setenv("PROMOTER_CACHE_DIR", str(tmp_path / "run-cache"))
    return home


def test_listing_equals_the_local_homes(guild_remote: GuildRemote, s3_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world = guild_remote.world
    local = GuildRunStore(world.home).list_runs()
    remote = guild_remote.store(tmp_path / "cache").list_runs()
    assert remote.skipped == ()
    assert [r.id for r in remote.runs] == [r.id for r in local.runs]
    running = world["running"]
    assert _stable(json.loads(listing_json(remote)), running) == _stable(
        json.loads(listing_json(local)), running
    )
    statuses = {r.id: r.status.value for r in remote.runs}
    assert statuses[running] == "running"
    assert statuses[world["staged"]] == "staged"
    assert statuses[world["terminated"]] == "terminated"
    # The run deleted remotely (guild runs rm --remote) is in trash/, and not listed.
    assert world["deleted"] not in statuses
    trash = guild_remote.server.keys(BUCKET, f"{ROOT}/trash/runs/{world['deleted']}/")
    assert any(k.endswith(".guild/opref") for k in trash)


def test_cli_runs_and_select_equal_the_local_homes_and_fetch_no_model(  # type: ignore[no-untyped-def]
    guild_remote: GuildRemote, s3_env, empty_home, tmp_path, monkeypatch, capsys
) -> None:
    world = guild_remote.world
    monkeypatch.setenv("GUILD_CONFIG", str(guild_remote.guild_config))
    remote_project = _project(tmp_path)
    local_project = tmp_path / "local"
    local_project.mkdir()
    local_config = SELECT_CONFIG.format(remote="null").replace("remote: null, ", "")
    (local_project / ".promoter.yml").write_text(local_config)
    local_args = ["--project", str(local_project), "--guild-home", str(world.home)]
    running = world["running"]

    with guild_remote.server.record() as requests:
        code, out, err = _cli(capsys, "select", "--project", str(remote_project), "--json")
    assert code == 0, err
    code, local_out, _ = _cli(capsys, "select", *local_args, "--json")
    assert code == 0
    remote_sel, local_sel = json.loads(out), json.loads(local_out)
    assert remote_sel["winner"] == local_sel["winner"] == world["best"]
    assert remote_sel["decision"] == local_sel["decision"] == "promote"
    strip = [{k: v for k, v in r.items() if k != "objective"} for r in remote_sel["runs"]]
    assert strip == [{k: v for k, v in r.items() if k != "objective"} for r in local_sel["runs"]]
    assert "Guild remote 'team' s3://guild-runs/team/guild" in err

    fetched = object_gets(requests, BUCKET)
    assert fetched, "select read the runs' metadata from S3"
    names = {k.rsplit("/", 1)[-1] for k in fetched}
    assert "model.pkl" not in names and "train.py" not in names
    for key in fetched:
        path = key.split("/runs/", 1)[-1].split("/", 1)[-1] if "/runs/" in key else key
        assert (
            key == f"{ROOT}/meta-id"
            or path == ".guild/opref"
            or ".tfevents." in path
            or path.removeprefix(".guild/attrs/") in LISTING_ATTRS
        ), key
    assert not any(k.endswith("/env") or k.endswith("pip_freeze") for k in fetched)

    code, out, _ = _cli(capsys, "runs", "--project", str(remote_project), "--json")
    assert code == 0
    code, local_out, _ = _cli(capsys, "runs", *local_args, "--json")
    assert _stable(json.loads(out), running) == _stable(json.loads(local_out), running)

    # Warm: meta-id is unchanged, so the cached listing is used: one GET, no listing pages.
    with guild_remote.server.record() as requests:
        code, _, err = _cli(capsys, "select", "--project", str(remote_project), "--json")
    assert code == 0, err
    assert object_gets(requests, BUCKET) == [f"{ROOT}/meta-id"]
    assert len(requests) == 1


def _mutable_remote(guild_remote: GuildRemote, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A Guild home of its own holding copies of three of the session's runs, pushed by
    guild to root ``mutable``: tests may label, delete and re-push there."""
    world = guild_remote.world
    home = tmp_path / "mutable-home"
    ids = [world["best"], world["low"], world["tagged"]]
    for run_id in ids:
        shutil.copytree(world.home / "runs" / run_id, home / "runs" / run_id, symlinks=True)
    config = write_guild_config(
        tmp_path / "guild-config.yml",
        {"mutable": {"type": "s3", "bucket": BUCKET, "root": f"mutable-{tmp_path.name}"}},
    )
    return home, config, ids


def _guild(remote: GuildRemote, home: Path, config: Path, *args: str) -> None:
    import subprocess

    exe = guild_exe()
    assert exe
    env = {**guild_env(home), **remote.server.env, "GUILD_CONFIG": str(config)}
    done = subprocess.run(
        [exe, *args], cwd=remote.world.project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_second_listing_fetches_only_what_changed(  # type: ignore[no-untyped-def]
    guild_remote: GuildRemote, s3_env, tmp_path
) -> None:
    home, config, ids = _mutable_remote(guild_remote, tmp_path)
    _guild(guild_remote, home, config, "push", "mutable", "-y")
    root = f"mutable-{tmp_path.name}"
    spec = S3Remote("mutable", BUCKET, root, None, None, str(config), "bucket")
    cache = tmp_path / "cache"

    def listing_gets() -> tuple[list[str], list[str]]:
        with guild_remote.server.record() as requests:
            listing = RemoteRunStore(spec, cache).list_runs()
        return [r.label for r in listing.runs if r.id == ids[0]], object_gets(requests, BUCKET)

    _, cold = listing_gets()
    assert len(cold) > 3 * 4
    _guild(guild_remote, home, config, "label", "--set", "relabelled", ids[0], "-y")
    _guild(guild_remote, home, config, "push", "mutable", ids[0], "-y")
    labels, warm = listing_gets()
    assert labels == ["relabelled"]
    # meta-id changed: the runs were listed again, and only the new label was downloaded.
    assert sorted(warm) == [f"{root}/meta-id", f"{root}/runs/{ids[0]}/.guild/attrs/label"]

    # A run deleted remotely disappears from the listing and from the mirror.
    _guild(guild_remote, home, config, "runs", "rm", "--remote", "mutable", ids[1], "-y")
    store = RemoteRunStore(spec, cache)
    assert {r.id for r in store.list_runs().runs} == {ids[0], ids[2]}
    assert not (store.mirror / "meta" / ids[1]).exists()
    assert (store.mirror / "meta" / ids[0] / ".guild" / "attrs" / "label").is_file()

    # A remote without meta-id (written by other tools) is listed every time; unchanged
    # runs still come from the cache.
    guild_remote.server.aws("s3", "rm", f"s3://{BUCKET}/{root}/meta-id")
    _, again = listing_gets()
    assert again == [f"{root}/meta-id"]


def test_promote_downloads_only_the_winners_files(  # type: ignore[no-untyped-def]
    guild_remote: GuildRemote, s3_env, empty_home, tmp_path, monkeypatch, capsys
) -> None:
    from tests.promotion import PROMOTION_CONFIG, make_promotion_repo
    from tests.repos import dvc_exe

    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    world = guild_remote.world
    monkeypatch.setenv("GUILD_CONFIG", str(guild_remote.guild_config))
    config = PROMOTION_CONFIG.replace(
        "source: {operation: train}", "source: {remote: team, operation: train}"
    )
    repo = make_promotion_repo(tmp_path, config)
    forge = tmp_path / "forge"
    with guild_remote.server.record() as requests:
        code, out, err = _cli(
            capsys, "promote", "--project", str(repo.work), "--forge-dir", str(forge), "--json"
        )
    assert code == 0, err
    result = json.loads(out)
    best = world["best"]
    assert result["decision"] == "promoted" and result["run_id"] == best
    model = (world.home / "runs" / best / "model.pkl").read_bytes()
    import hashlib

    assert result["model_md5"] == {"models/model.pkl": hashlib.md5(model).hexdigest()}
    fetched = object_gets(requests, BUCKET)
    models = [k for k in fetched if k.endswith("/model.pkl")]
    assert models == [f"{ROOT}/runs/{best}/model.pkl"]
    outside_listing = {
        k
        for k in fetched
        if "/runs/" in k
        and not (k.endswith("/.guild/opref") or ".tfevents." in k)
        and k.rsplit("/", 1)[-1] not in LISTING_ATTRS
    }
    assert outside_listing, "the winner's files were downloaded"
    assert all(f"/runs/{best}/" in k for k in outside_listing), outside_listing
    assert not any(k.endswith("/.guild/attrs/env") for k in fetched)


def test_unknown_remote_name_lists_those_that_exist(  # type: ignore[no-untyped-def]
    guild_remote: GuildRemote, s3_env, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("GUILD_CONFIG", str(guild_remote.guild_config))
    project = _project(tmp_path, remote="nope")
    code, _, err = _cli(capsys, "runs", "--project", str(project))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"promoter: error: {project / '.promoter.yml'}: source.remote: no remote 'nope' in "
        f"{guild_remote.guild_config} (remotes there: team)"
    )


def test_wrong_bucket_is_a_config_error(s3_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "p"
    project.mkdir()
    (project / ".promoter.yml").write_text(
        "source: {remote: {type: s3, bucket: no-such-bucket, root: x}}\n"
    )
    code, _, err = _cli(capsys, "runs", "--project", str(project))
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"promoter: error: {project / '.promoter.yml'}: source.remote.bucket:")
    assert f"bucket 'no-such-bucket' does not exist at {s3_env.endpoint}" in line


def test_missing_credentials_are_a_usage_error(  # type: ignore[no-untyped-def]
    guild_remote: GuildRemote, s3_env, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("GUILD_CONFIG", str(guild_remote.guild_config))
    code, _, err = _cli(capsys, "runs", "--project", str(_project(tmp_path)))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no AWS credentials" in lines[0], err


def test_an_endpoint_that_does_not_answer_fails_in_seconds(  # type: ignore[no-untyped-def]
    s3_env, tmp_path, monkeypatch, capsys
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts connections (the kernel does), never answers
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    port = silent.getsockname()[1]
    monkeypatch.setenv("PROMOTER_S3_TIMEOUT", "1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    project = tmp_path / "p"
    project.mkdir()
    (project / ".promoter.yml").write_text(
        "source:\n  remote: {type: s3, bucket: some-bucket, endpoint_url: "
        f'"http://127.0.0.1:{port}"}}\n'
    )
    started = time.monotonic()
    try:
        code, _, err = _cli(capsys, "runs", "--project", str(project), "--no-cache")
    finally:
        stop.set()
        holder.join()
        for conn in accepted:
            conn.close()
        silent.close()
    assert time.monotonic() - started < 15
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"S3 endpoint http://127.0.0.1:{port} did not answer" in lines[0]
    assert "2 attempts" in lines[0]


def test_a_half_pushed_run_is_skipped_with_a_warning_naming_it(  # type: ignore[no-untyped-def]
    guild_remote: GuildRemote, s3_env, tmp_path, capsys
) -> None:
    world, server = guild_remote.world, guild_remote.server
    root = f"broken-{tmp_path.name}"
    good, half, no_opref = world["best"], "ab" * 16, "cd" * 16
    runs = world.home / "runs"
    server.aws(
        "s3", "sync", "--only-show-errors", str(runs / good), f"s3://{BUCKET}/{root}/runs/{good}/"
    )
    server.aws(
        "s3", "sync", "--only-show-errors", "--exclude", ".guild/attrs/*",
        str(runs / good), f"s3://{BUCKET}/{root}/runs/{half}/",
    )  # fmt: skip
    server.aws(
        "s3", "cp", "--only-show-errors", str(runs / good / "train.py"),
        f"s3://{BUCKET}/{root}/runs/{no_opref}/train.py",
    )  # fmt: skip
    project = tmp_path / "p"
    project.mkdir()
    (project / ".promoter.yml").write_text(
        f"source: {{remote: {{type: s3, bucket: {BUCKET}, root: {root}}}}}\n"
    )
    code, out, err = _cli(capsys, "runs", "--project", str(project), "--json")
    assert code == 0, err
    listing = json.loads(out)
    assert [r["id"] for r in listing["runs"]] == [good]
    reasons = {s["id"]: s["reason"] for s in listing["skipped"]}
    assert "no attributes" in reasons[half] and "push that did not finish" in reasons[half]
    assert "no .guild/opref" in reasons[no_opref]
    assert f"warning: skipped run {half}: no attributes" in err


def test_an_empty_remote_holds_no_runs(s3_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "p"
    project.mkdir()
    s3_env.make_bucket("empty-bucket")
    (project / ".promoter.yml").write_text(
        "source: {remote: {type: s3, bucket: empty-bucket, root: /}}\n"
    )
    code, _, err = _cli(capsys, "runs", "--project", str(project))
    assert code == 2
    assert "holds no runs" in err


def test_materialize_refuses_paths_outside_the_run(
    guild_remote: GuildRemote, s3_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from promoter.errors import PromoterError

    store = guild_remote.store(tmp_path / "cache")
    run = next(r for r in store.list_runs().runs if r.id == guild_remote.world["best"])
    for bad in ("../x", "/etc/passwd", "a/../../b", ".guild/attrs/env", ""):
        with pytest.raises(PromoterError, match="refusing to download"):
            store.materialize(run, [bad])
    root = store.materialize(run, ["model.pkl", "no-such-file"])
    assert (root / "model.pkl").is_file() and not (root / "no-such-file").exists()


def test_group_runs_classifies_what_listing_needs() -> None:
    prefix = "r/runs/"
    run = "a" * 32

    def obj(path: str) -> S3Object:
        return S3Object(prefix + path, 1, f'"{path}"')

    keys = [
        f"{run}/.guild/opref",
        f"{run}/.guild/attrs/flags",
        f"{run}/.guild/attrs/env",
        f"{run}/.guild/attrs/started",
        f"{run}/.guild/attrs/initialized",
        f"{run}/.guild/events.out.tfevents.1",
        f"{run}/.guild/sub/events.out.tfevents.2",
        f"{run}/logs/events.out.tfevents.3",
        f"{run}/.guild/LOCK",
        f"{run}/.guild/STAGED",
        f"{run}/.guild/proto/x",
        f"{run}/model.pkl",
        f"{run}/../escape",
        "loose-object",
    ]
    grouped = group_runs([obj(k) for k in keys], prefix)
    assert list(grouped) == [run]
    remote = grouped[run]
    assert sorted(remote.needed) == [
        ".guild/attrs/flags",
        ".guild/attrs/started",
        ".guild/events.out.tfevents.1",
        ".guild/opref",
        "logs/events.out.tfevents.3",
    ]
    assert remote.markers == {"attrs", "LOCK", "STAGED", "proto"}
    assert remote.locked and not remote.finished
    assert remote.unsafe == ["../escape"]
    assert "model.pkl" in remote.objects
    assert not safe_path("a//b") and not safe_path("./a") and safe_path("a/b.c")
