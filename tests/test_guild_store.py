"""The Guild run store against real runs, with Guild itself as the oracle."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from promoter.core.models import RunStatus
from promoter.errors import UsageError
from promoter.runs.guild.store import GuildRunStore
from tests.conftest import SHARED_FIXTURES, GuildWorld
from tests.guildrun import guild


@pytest.fixture(scope="module")
def listing(guild_world: GuildWorld):  # type: ignore[no-untyped-def]
    return GuildRunStore(guild_world.home).list_runs()


@pytest.fixture(scope="module")
def guild_api_runs(guild_world: GuildWorld) -> dict[str, dict]:  # type: ignore[type-arg]
    out = guild(guild_world.project, guild_world.home, "api", "runs")
    return {r["id"]: r for r in json.loads(out)}


def test_lists_every_live_run_and_not_the_trash(listing, guild_world, guild_api_runs) -> None:  # type: ignore[no-untyped-def]
    ids = {r.id for r in listing.runs}
    assert ids == set(guild_api_runs)
    assert guild_world["deleted"] not in ids
    assert (guild_world.home / "trash" / "runs" / guild_world["deleted"]).is_dir()
    assert listing.skipped == ()
    started = [r.started for r in listing.runs]
    assert started == sorted(started, reverse=True)


def test_status_op_label_tags(listing, guild_world, guild_api_runs) -> None:  # type: ignore[no-untyped-def]
    runs = {r.id: r for r in listing.runs}
    expected = {
        "low": RunStatus.COMPLETED,
        "failed": RunStatus.ERROR,
        "terminated": RunStatus.TERMINATED,
        "running": RunStatus.RUNNING,
        "staged": RunStatus.STAGED,
        "prepare": RunStatus.COMPLETED,
    }
    for name, status in expected.items():
        assert runs[guild_world[name]].status is status, name
    for run_id, oracle in guild_api_runs.items():
        run = runs[run_id]
        assert run.status.value == oracle["status"]
        assert run.op == oracle["operation"]
        assert run.label == (oracle["label"] or "")
        assert list(run.tags) == oracle["tags"]
        assert dict(run.flags) == oracle["flags"]
        assert run.started is not None
        assert round(run.started.timestamp() * 1e6) == oracle["started"]
    tagged = runs[guild_world["tagged"]]
    assert (tagged.label, tagged.tags) == ("candidate", ("reviewed",))


def test_scalars_equal_guilds(listing, guild_api_runs) -> None:  # type: ignore[no-untyped-def]
    runs = {r.id: r for r in listing.runs}
    checked = 0
    for run_id, oracle in guild_api_runs.items():
        mine = runs[run_id]
        assert {s["tag"] for s in oracle["scalars"]} == {n for n in mine.scalars if "#" not in n}
        for s in oracle["scalars"]:
            series = mine.scalar(f"{s['prefix']}#{s['tag']}")
            assert series is not None
            summary = series.summary()
            for mine_key, guild_key in [
                ("last", "lastVal"),
                ("first", "firstVal"),
                ("min", "minVal"),
                ("max", "maxVal"),
                ("count", "count"),
            ]:
                want = s[guild_key]
                got = summary[mine_key]
                if want is None:  # guild's JSON turns NaN into null
                    assert math.isnan(got)
                elif mine_key in ("min", "max") and any(map(math.isnan, series.values)):
                    assert math.isnan(got)  # on purpose: NaN poisons min/max (see docs)
                else:
                    assert got == pytest.approx(want, rel=1e-12), (run_id, s["tag"], mine_key)
            if s["avgVal"] is not None and not math.isnan(summary["avg"]):
                assert summary["avg"] == pytest.approx(s["avgVal"], rel=1e-9)
            checked += 1
    assert checked >= 20


def test_float32_values_read_back_as_guild_does(listing, guild_world) -> None:  # type: ignore[no-untyped-def]
    run = next(r for r in listing.runs if r.id == guild_world["best"])
    series = run.scalar("val_acc")
    assert series is not None
    assert series.values[-1] != 0.93 and series.values[-1] == pytest.approx(0.93, rel=1e-7)
    assert series.steps == (0, 1, 2)


def test_nan_and_missing_scalars(listing, guild_world) -> None:  # type: ignore[no-untyped-def]
    runs = {r.id: r for r in listing.runs}
    nan_run = runs[guild_world["nan"]].scalar("val_acc")
    assert nan_run is not None and math.isnan(nan_run.aggregate("last"))
    assert runs[guild_world["nolatency"]].scalar("latency_ms") is None
    assert runs[guild_world["low"]].scalar("latency_ms") is not None


def test_vcs_commit_and_digest(listing, guild_world) -> None:  # type: ignore[no-untyped-def]
    runs = {r.id: r for r in listing.runs}
    clean, dirty = runs[guild_world["best"]], runs[guild_world["dirty"]]
    assert clean.vcs_commit and clean.vcs_commit.startswith("git:") and not clean.dirty_source
    assert dirty.dirty_source and dirty.vcs_commit == clean.vcs_commit + "*"
    store = GuildRunStore(guild_world.home)
    clean_digest = store.provenance(clean).sourcecode_digest
    assert clean_digest and len(clean_digest) == 32
    assert clean_digest != store.provenance(dirty).sourcecode_digest


def test_provenance_matches_guild(listing, guild_world, guild_api_runs) -> None:  # type: ignore[no-untyped-def]
    store = GuildRunStore(guild_world.home)
    run = next(r for r in listing.runs if r.id == guild_world["best"])
    prov = store.provenance(run)
    oracle = guild_api_runs[run.id]
    assert " ".join(prov.command) == oracle["command"]
    assert prov.host and prov.python and prov.python.startswith("3.")
    assert isinstance(prov.random_seed, int)
    assert any(p.startswith("guildai==") for p in prov.packages)


def test_run_files_match_guilds(listing, guild_world, guild_api_runs) -> None:  # type: ignore[no-untyped-def]
    store = GuildRunStore(guild_world.home)
    for name in ("best", "failed", "prepare"):
        run = next(r for r in listing.runs if r.id == guild_world[name])
        files = store.run_files(run)
        oracle = guild_api_runs[run.id]
        assert sorted(f.project_path or "" for f in files.source) == sorted(
            oracle["sourcecode"]["files"]
        )
        assert all(f.run_path == f.project_path for f in files.source)
        assert all(f.sha1 and len(f.sha1) == 40 for f in files.source)
        every = {f["path"] for f in oracle["files"]}
        mine = {f.run_path for f in (*files.source, *files.dependencies, *files.generated)}
        assert mine == every
    best = next(r for r in listing.runs if r.id == guild_world["best"])
    assert [f.run_path for f in store.run_files(best).generated] == ["model.pkl"]


def test_guild_home_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        GuildRunStore(tmp_path / "nope").list_runs()
    with pytest.raises(UsageError, match="holds no runs"):
        GuildRunStore(tmp_path).list_runs()
    (tmp_path / "runs").mkdir()
    with pytest.raises(UsageError, match="holds no runs"):
        GuildRunStore(tmp_path).list_runs()


def _corrupt_copy(guild_world: GuildWorld, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    shutil.copytree(guild_world.home / "runs", home / "runs", symlinks=True)
    runs = home / "runs"
    w = guild_world
    broken = {
        "no attrs": w["low"],
        "bad yaml": w["tagged"],
        "bad events": w["best"],
        "bad opref": w["nan"],
    }
    shutil.rmtree(runs / broken["no attrs"] / ".guild" / "attrs")
    (runs / broken["bad yaml"] / ".guild" / "attrs" / "flags").write_text("a: [unclosed\n")
    events = next((runs / broken["bad events"] / ".guild").glob("*.tfevents.*"))
    events.write_bytes(b"\xff" * 64)
    (runs / broken["bad opref"] / ".guild" / "opref").write_text("guildfile:'unclosed\n")
    (runs / "not-a-run").mkdir()
    odd = runs / "zz-not-an-id" / ".guild"
    odd.mkdir(parents=True)
    (odd / "opref").write_text("guildfile:/p/guild.yml abc '' train\n")
    broken["odd name"] = "zz-not-an-id"
    return home, broken


def test_corrupt_runs_are_skipped_with_a_reason(guild_world: GuildWorld, tmp_path: Path) -> None:
    home, broken = _corrupt_copy(guild_world, tmp_path)
    listing = GuildRunStore(home).list_runs()
    skipped = {s.run_id: s.reason for s in listing.skipped}
    assert set(skipped) == set(broken.values())
    assert "no attributes" in skipped[broken["no attrs"]]
    assert "'flags' is not valid YAML" in skipped[broken["bad yaml"]]
    assert "events file .guild/" in skipped[broken["bad events"]]
    assert "opref is malformed" in skipped[broken["bad opref"]]
    assert "not a Guild run id" in skipped[broken["odd name"]]
    assert guild_world["failed"] in {r.id for r in listing.runs}
    assert "not-a-run" not in skipped


def test_progress_is_reported(guild_world: GuildWorld) -> None:
    calls: list[tuple[int, int]] = []
    GuildRunStore(guild_world.home).list_runs(lambda done, total: calls.append((done, total)))
    assert calls[0][0] == 0
    assert calls[-1][0] == calls[-1][1] >= 10
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_reads_guilds_own_sample_runs(tmp_path: Path) -> None:
    """Guild's test runs (an older layout, from ../shared/fixtures) read like Guild reads them."""
    sample = SHARED_FIXTURES / "guild" / "filter-runs"
    if not sample.is_dir():
        pytest.skip("shared fixtures are absent")
    home = tmp_path / "home"
    shutil.copytree(sample, home / "runs", symlinks=True)
    runs = {r.id[:8]: r for r in GuildRunStore(home).list_runs().runs}
    assert runs["e394b696"].op == "util:test"
    statuses = {k: r.status.value for k, r in runs.items()}
    assert statuses["2dc1529b"] == "terminated"
    assert statuses["fe83a924"] == "error"
    assert statuses["ac99cff4"] == "pending"
    assert statuses["fa6f74ad"] == "staged"
    assert statuses["79ca9e64"] == "completed"
    loss = runs["79ca9e64"].scalar("loss")
    assert loss is not None and round(loss.aggregate("last"), 5) == 0.43514
    assert dict(runs["2dc1529b"].flags) == {"noise": 0.1, "x": 1.1}
