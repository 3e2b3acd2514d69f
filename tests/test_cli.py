"""``promoter runs`` and ``promoter select`` end to end on real runs; Guild as the oracle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promoter.cli import main
from tests.conftest import GuildWorld
from tests.guildrun import guild


def run_cli(
    capsys: pytest.CaptureFixture[str], *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        code = main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(old)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".promoter.yml").write_text(
        "source: {operation: train}\nselect:\n  objective: max val_acc\n"
    )
    return tmp_path


def select_json(capsys, world: GuildWorld, project: Path, *extra: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code, out, err = run_cli(
        capsys,
        "select",
        "--json",
        "--project",
        str(project),
        "--guild-home",
        str(world.home),
        *extra,
    )
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def guild_select(world: GuildWorld, *args: str) -> str:
    return guild(world.project, world.home, "select", *args).strip()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("max val_acc", ["--max", "val_acc"]),
        ("min loss", ["--min", "loss"]),
        ("max max:val_acc", ["--max", "max val_acc"]),
        ("max latency_ms", ["--max", "latency_ms"]),
        ("min avg:loss", ["--min", "avg loss"]),
    ],
)
def test_select_picks_what_guild_select_picks(
    capsys: pytest.CaptureFixture[str],
    guild_world: GuildWorld,
    project: Path,
    ours: str,
    theirs: list[str],
) -> None:
    result = select_json(capsys, guild_world, project, "--objective", ours)
    assert result["winner"] == guild_select(guild_world, *theirs, "-Sc", "-Fo", "train")


def test_guild_select_without_status_filter_picks_a_failed_run_we_do_not(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    result = select_json(capsys, guild_world, project)
    unfiltered = guild_select(guild_world, "--max", "val_acc", "-Fo", "train")
    assert unfiltered != result["winner"]
    runs = {r["id"]: r for r in result["runs"]}
    assert runs[unfiltered]["eligible"] is False


def test_guild_min_prefers_a_run_without_the_scalar_we_do_not(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    result = select_json(capsys, guild_world, project, "--objective", "min latency_ms")
    theirs = guild_select(guild_world, "--min", "latency_ms", "-Sc", "-Fo", "train")
    assert theirs == guild_world["nolatency"]
    assert result["winner"] != theirs
    runs = {r["id"]: r for r in result["runs"]}
    assert runs[theirs]["reasons"] == ["objective latency_ms is missing"]
    assert runs[result["winner"]]["objective"] == pytest.approx(20.0)


def test_select_json_contract(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    project.joinpath(".promoter.yml").write_text(
        "source: {operation: train}\n"
        "select:\n  objective: max val_acc\n  where: ['latency_ms <= 40']\n"
    )
    result = select_json(capsys, guild_world, project)
    w = guild_world
    assert result["decision"] == "promote"
    assert result["winner"] == w["best"]
    assert result["champion"] is None
    assert result["objective"]["name"] == "val_acc"
    assert result["objective"]["direction"] == "max"
    assert result["objective"]["value"] == pytest.approx(0.93, rel=1e-6)
    runs = {r["id"]: r for r in result["runs"]}
    for entry in result["runs"]:
        assert set(entry) >= {"id", "op", "status", "objective", "eligible", "reasons"}
    assert runs[w["nolatency"]]["reasons"] == ["fails latency_ms <= 40: latency_ms is missing"]
    assert runs[w["nan"]]["objective"] == "NaN"
    assert runs[w["nan"]]["reasons"] == ["objective val_acc is NaN"]
    assert runs[w["failed"]]["reasons"] == ["status error (candidates must be completed)"]
    assert runs[w["prepare"]]["reasons"][0] == "operation 'prepare' is not train"
    assert runs[w["running"]]["status"] == "running"
    assert runs[w["staged"]]["status"] == "staged"
    assert runs[w["terminated"]]["status"] == "terminated"
    assert ", winner " in runs[w["low"]]["reasons"][0]
    assert w["deleted"] not in runs


def test_select_against_a_champion(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    champion = project / ".promoter" / "champion.yaml"
    champion.parent.mkdir()
    champion.write_text(
        f"run_id: {guild_world['low']}\nop: train\n"
        "objective: {name: val_acc, direction: max, value: 0.8}\n"
    )
    project.joinpath(".promoter.yml").write_text(
        "source: {operation: train}\nselect: {objective: max val_acc, min_improvement: 0.2}\n"
    )
    result = select_json(capsys, guild_world, project)
    assert result["decision"] == "not-better"
    assert result["champion"] == guild_world["low"]
    assert result["champion_value"] == pytest.approx(0.8, rel=1e-6)
    assert result["improvement"] == pytest.approx(0.15, rel=1e-5)
    assert result["winner"] == guild_world["nolatency"]


def test_select_one_run_by_prefix(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    result = select_json(capsys, guild_world, project, "--run", guild_world["low"][:8])
    assert [r["id"] for r in result["runs"]] == [guild_world["low"]]
    assert result["winner"] == guild_world["low"]


def test_runs_json(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    code, out, err = run_cli(
        capsys, "runs", "--json", "--project", str(project), "--guild-home", str(guild_world.home)
    )
    assert code == 0, err
    data = json.loads(out)
    by_id = {r["id"]: r for r in data["runs"]}
    best = by_id[guild_world["best"]]
    assert best["flags"]["acc"] == 0.93
    assert best["status"] == "completed"
    assert best["scalars"]["val_acc"]["last"] == pytest.approx(0.93, rel=1e-6)
    assert best["scalars"]["val_acc"]["count"] == 3
    assert by_id[guild_world["nan"]]["scalars"]["val_acc"]["last"] == "NaN"
    assert "read 1" in err


def test_tables_for_people(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    env = {"COLUMNS": "200"}
    args = ("--project", str(project), "--guild-home", str(guild_world.home))
    code, out, _ = run_cli(capsys, "runs", *args, env=env)
    assert code == 0
    assert guild_world["best"][:8] in out and "val_acc" in out and "terminated" in out
    code, out, _ = run_cli(capsys, "select", *args, env=env)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("PROMOTE  run " + guild_world["nolatency"][:8])
    assert "status error" in out and ", winner " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--objective", "max val_ac"], "no run has a scalar 'val_ac'; runs have: "),
        (["--objective", "maximum"], "must be 'max <scalar>'"),
        (["--run", "zzzz"], "is not a run id"),
        (["--run", "0000000000"], "no run '0000000000'"),
    ],
)
def test_select_usage_errors(
    capsys: pytest.CaptureFixture[str],
    guild_world: GuildWorld,
    project: Path,
    args: list[str],
    message: str,
) -> None:
    code, out, err = run_cli(
        capsys, "select", "--project", str(project), "--guild-home", str(guild_world.home), *args
    )
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    if "val_ac'" in message:
        assert "latency_ms, loss, val_acc" in err


def test_unknown_scalar_in_config_names_the_key(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, project: Path
) -> None:
    project.joinpath(".promoter.yml").write_text(
        "select: {objective: max val_acc, where: ['accuracy > 0.5']}\n"
    )
    code, _, err = run_cli(
        capsys, "select", "--project", str(project), "--guild-home", str(guild_world.home)
    )
    assert code == 2
    assert ".promoter.yml: select.where[0]: no run has a scalar 'accuracy'" in err


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("select: {objective: max val_acc, wher: []}", "select.wher: unknown key"),
        ("select: {objective: max val_acc, where: ['val_acc >']}", "select.where[0]: "),
        ("select: [", "not valid YAML"),
    ],
)
def test_bad_config_exit_2_one_line(
    capsys: pytest.CaptureFixture[str],
    guild_world: GuildWorld,
    tmp_path: Path,
    config: str,
    message: str,
) -> None:
    (tmp_path / ".promoter.yml").write_text(config)
    code, _, err = run_cli(
        capsys, "select", "--project", str(tmp_path), "--guild-home", str(guild_world.home)
    )
    assert code == 2
    assert message in err and ".promoter.yml" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_and_empty_guild_home(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, _, err = run_cli(
        capsys, "runs", "--project", str(project), "--guild-home", str(project / "x")
    )
    assert code == 2
    assert err.strip().endswith("does not exist (from --guild-home)")
    empty = project / "empty"
    empty.mkdir()
    code, _, err = run_cli(
        capsys, "select", "--project", str(project), env={"GUILD_HOME": str(empty)}
    )
    assert code == 2
    assert "holds no runs" in err and "(from $GUILD_HOME)" in err


def test_console_script_exit_codes(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "promoter", "select", "--guild-home", str(project / "nope")],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("promoter: error: GUILD_HOME")
    proc = subprocess.run(
        [sys.executable, "-m", "promoter", "selekt"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "No such command 'selekt'" in proc.stderr


def test_a_bug_exits_3_with_a_short_note(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promoter.runs.guild.store import GuildRunStore

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(GuildRunStore, "list_runs", broken)
    code, out, err = run_cli(
        capsys, "runs", "--project", str(project), "--guild-home", str(project)
    )
    assert code == 3
    assert out == ""
    assert err.startswith(
        "promoter: internal error (a bug, please report it): RuntimeError('boom')"
    )
    assert "Traceback" in err


def test_skipped_runs_are_warned_about_by_name(
    capsys: pytest.CaptureFixture[str], guild_world: GuildWorld, tmp_path: Path
) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(guild_world.home / "runs", home / "runs", symlinks=True)
    broken = guild_world["low"]
    (home / "runs" / broken / ".guild" / "attrs" / "flags").write_text("a: [\n")
    code, out, err = run_cli(
        capsys, "runs", "--json", "--project", str(tmp_path), "--guild-home", str(home)
    )
    assert code == 0
    assert f"warning: skipped run {broken}: attribute 'flags' is not valid YAML" in err
    data = json.loads(out)
    assert data["skipped"][0]["id"] == broken
    assert broken not in {r["id"] for r in data["runs"]}


def test_progress_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from promoter import cli

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    clock = iter([0.0, 1.0, 1.0, 1.0])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    report = cli._progress()
    assert report is not None
    report(500, 2000)
    report(2000, 2000)
    assert capsys.readouterr().err == "read 500/2000 runs\rread 2000/2000 runs\n"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert cli._progress() is None


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from promoter import __version__

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.strip() == f"promoter, version {__version__}"
