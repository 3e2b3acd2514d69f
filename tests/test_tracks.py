"""Several models in one repository: each track has its own runs, champion, branch and PR,
and is judged only against its own champion. Config checks, then real Guild runs of two
models (``intro:train`` and ``expert:train``: the same operation name) promoted for real."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from promoter.cli import main
from promoter.config import parse_config
from promoter.errors import ConfigError, UsageError
from promoter.tracks import champion_file, tracks_of
from tests.guildrun import PROJECT_TEMPLATE, guild_exe, guild_run
from tests.repos import commit_all, dvc_exe, git, make_dvc_remote, make_repo_with_bare_remote

BASE = {
    "select": {"objective": "max val_acc", "where": ["val_acc >= 0.5"]},
    "merge": {"flags_file": "params.yml"},
}
TRACKS = [
    {"name": "intro", "source": {"operation": "intro:train"}, "merge": {"flags_file": "intro.yml"}},
    {
        "name": "expert",
        "source": {"operation": "expert:train"},
        "select": {"where": ["val_acc >= 0.6"]},
        "pr": {"labels": ["expert-model"]},
    },
]


def test_a_file_without_tracks_is_one_unnamed_track() -> None:
    (track,) = tracks_of(parse_config(BASE, "c.yml"))
    assert track.name is None and champion_file(None).as_posix() == ".promoter/champion.yaml"


def test_each_track_lays_its_keys_over_the_file_s() -> None:
    intro, expert = tracks_of(parse_config({**BASE, "tracks": TRACKS}, "c.yml"))
    assert (intro.name, expert.name) == ("intro", "expert")
    assert intro.config.source.operations == ("intro:train",)
    assert intro.config.merge.flags_file == "intro.yml"
    assert intro.config.select.where == ["val_acc >= 0.5"]
    assert expert.config.merge.flags_file == "params.yml"
    assert expert.config.select.where == ["val_acc >= 0.6"]
    assert expert.config.select.objective == "max val_acc"
    assert expert.config.pr.labels == ["expert-model"]
    assert champion_file("expert").as_posix() == ".promoter/tracks/expert/champion.yaml"


@pytest.mark.parametrize(
    ("tracks", "key", "reason"),
    [
        ([{"name": "Intro"}], "tracks[0].name", "is not a track name"),
        ([{"name": "a"}, {"name": "a"}], "tracks[1].name", "'a' is used twice"),
        (
            [{"name": "a", "select": {"objectiv": "max x"}}],
            "tracks[0].select.objectiv",
            "unknown key",
        ),
        ([{"name": "a", "select": {"where": ["x >>= 1"]}}], "tracks[0].select.where[0]", ""),
        ([{"name": "a", "pr": {"branch": "p/{model}"}}], "tracks[0].pr.branch", "unknown field"),
    ],
)
def test_a_bad_track_is_named_with_its_key(tracks: list, key: str, reason: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "tracks": tracks}, "c.yml")
    assert error.value.key == key and reason in error.value.reason


def test_an_unknown_track_lists_the_ones_there_are() -> None:
    config = parse_config({**BASE, "tracks": TRACKS}, "c.yml")
    with pytest.raises(UsageError, match=r"no track 'pro' in the config \(tracks: intro, expert\)"):
        tracks_of(config, "pro")


# Two models with the same operation name: one track each (also used by test_action_push).
GUILD_YML = """\
- model: intro
  operations:
    train: &train
      main: train
      flags: {acc: 0.8, lr: 0.1, epochs: 3, fail: no, nan: no, latency: yes, sleep: 0.0}
      output-scalars:
        - step: 'epoch (\\step)'
        - '(\\key): ([-+0-9.eE]+|nan|inf)'
- model: expert
  operations:
    train: *train
"""
CONFIG = """\
select: {objective: max val_acc}
merge:
  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]
tracks:
  - name: intro
    source: {operation: "intro:train"}
    merge:
      flags_file: intro/params.yml
      artifacts: [{from: model.pkl, to: models/intro.pkl, dvc: true}]
  - name: expert
    source: {operation: "expert:train"}
    merge:
      flags_file: expert/params.yml
      artifacts: [{from: model.pkl, to: models/expert.pkl, dvc: true}]
"""


@pytest.mark.slow
def test_two_models_promote_each_against_its_own_champion(tmp_path, capsys) -> None:
    if guild_exe() is None or dvc_exe() is None:
        pytest.skip("guild and dvc are needed")
    work, bare = make_repo_with_bare_remote(tmp_path)
    shutil.copy(PROJECT_TEMPLATE / "train.py", work / "train.py")
    (work / "guild.yml").write_text(GUILD_YML)
    (work / ".promoter.yml").write_text(CONFIG)
    make_dvc_remote(work, tmp_path / "dvc-remote")
    commit_all(work, "two models")
    git(work, "push", "-q", "origin", "main")
    home = tmp_path / "guild-home"
    home.mkdir()
    intro = guild_run(work, home, "intro:train", "acc=0.9")
    expert = guild_run(work, home, "expert:train", "acc=0.7")

    def promote(*args: str) -> dict:  # type: ignore[type-arg]
        capsys.readouterr()
        argv = ["promote", "--project", str(work), "--guild-home", str(home), "--json"]
        assert main([*argv, "--forge-dir", str(tmp_path / "forge"), *args]) == 0
        return json.loads(capsys.readouterr().out)

    first = promote()
    assert [(t["track"], t["decision"], t["run_id"]) for t in first["tracks"]] == [
        ("intro", "promoted", intro),
        ("expert", "promoted", expert),
    ]
    assert {t["branch"] for t in first["tracks"]} == {"promote/intro", "promote/expert"}
    expert_champion = yaml.safe_load(
        git(bare, "show", "promote/expert:.promoter/tracks/expert/champion.yaml")
    )
    assert expert_champion["run_id"] == expert
    assert "models/expert.pkl" in expert_champion["model_md5"]

    # Merge the intro PR only; a better expert run then replaces the expert PR's run, while
    # intro is judged against its own champion (0.9), not the expert's.
    git(bare, "update-ref", "refs/heads/main", "refs/heads/promote/intro")
    better = guild_run(work, home, "expert:train", "acc=0.75")
    second = promote()
    decisions = {t["track"]: (t["decision"], t["run_id"]) for t in second["tracks"]}
    assert decisions["intro"] == ("not-better", intro)
    assert decisions["expert"] == ("updated", better)
    only = promote("--track", "intro")
    assert only["decision"] == "not-better" and "already the champion" in only["summary"]
