"""Guild fidelity (issue 10, the "smaller" list): each fix with a test that fails without it.

The pure parts run on synthetic data; the rest on Guild's example projects
(tests/guildexamples.py), with real git, DVC and the local forge.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from promoter.cli import main
from promoter.cli.report import flag_json
from promoter.core.expr import ExpressionError, parse_criterion, parse_objective
from promoter.core.models import Champion, RunStatus, ScalarSeries
from promoter.core.selection import Decision, Filters, Policy, select
from tests.guildexamples import GuildExamples, make_example_repo
from tests.records import replace_run, sample_record
from tests.repos import commit_all, dvc_exe, git
from tests.test_render import render
from tests.test_selection import champion, make_run


def promoter(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# -- non-finite flags in runs --json (README: protobuf's JSON strings) -----------------------------


def test_non_finite_flags_nested_in_lists_and_mappings_are_json_strings() -> None:
    value = [1.5, math.nan, {"low": -math.inf, "high": math.inf, "name": "NaN"}, True, None]
    nested = {"low": "-Infinity", "high": "Infinity", "name": "NaN"}
    assert flag_json(value) == [1.5, "NaN", nested, True, None]
    assert flag_json(3) == 3 and flag_json("x") == "x"


# -- Guild's names for scalars: prefix#tag, sys/* hidden -------------------------------------------


def test_scalar_names_as_guild_compare_shows_them() -> None:
    def series(prefix: str, tag: str) -> ScalarSeries:
        return ScalarSeries(tag, prefix, (0,), (1.0,))

    assert series(".guild", "loss").display_name == "loss"
    assert series("", "loss").display_name == "loss"
    assert series("validate", "accuracy").display_name == "validate#accuracy"
    assert series("foo/bar", "a").display_name == "foo/bar#a"
    assert series("", "sys/mem_used").system and not series("sys", "loss").system


def test_unknown_scalar_error_names_prefixed_scalars_and_hides_sys(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    (tmp_path / ".promoter.yml").write_text(
        "source: {operation: [mnist-expert:train, summary]}\n"
        "select: {objective: max validate#acc}\n"
    )
    code, _, err = promoter(
        "select", "--project", str(tmp_path), "--guild-home", str(guild_examples.home)
    )
    assert code == 2
    assert err.rstrip().endswith(
        "no run has a scalar 'validate#acc'; runs have: loss, train#accuracy, train#loss, "
        "validate#accuracy"
    )


def test_sys_scalars_stay_out_of_the_pr_table_as_guild_compare_hides_them(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    """The summary run logs `loss` and, through Guild's memory plugin, `sys/mem_*`."""
    listed = json.loads(
        promoter(
            "runs", "--json", "--project", str(tmp_path), "--guild-home", str(guild_examples.home)
        )[1]
    )
    run = next(r for r in listed["runs"] if r["id"] == guild_examples["summary"])
    assert "sys/mem_used" in run["scalars"]  # listed, as `guild api runs` lists it
    (tmp_path / ".promoter.yml").write_text("select: {objective: min loss}\n")
    code, body, err = promoter(
        "render",
        guild_examples["summary"],
        "--project",
        str(tmp_path),
        "--guild-home",
        str(guild_examples.home),
    )
    assert code == 0, err
    assert "| `loss` 🎯 |" in body
    assert "sys/" not in body


# -- "Packages 0 (pip freeze —)" -------------------------------------------------------------------


def test_a_run_without_pip_freeze_says_so_in_the_body() -> None:
    body = render(replace_run(sample_record(), packages_count=0, packages_sha256=None))
    assert "| Packages | pip freeze: not recorded |" in body
    assert "pip freeze sha256" not in body
    recorded = render(sample_record())
    assert "| Packages | 84 (pip freeze sha256 `abababababab`) |" in recorded


# -- select.objective: newest (runs without scalars) -----------------------------------------------


def test_newest_parses_and_keeps_the_other_objectives_as_they_were() -> None:
    newest = parse_objective("newest")
    assert newest.newest and str(newest) == "newest" and str(newest.scalar) == "newest"
    assert not parse_objective("max val_acc").newest
    with pytest.raises(ExpressionError, match="'max <scalar>', 'min <scalar>' or 'newest'"):
        parse_objective("latest")


def test_newest_picks_the_newest_run_that_passes_filters_and_criteria() -> None:
    old, passing, failing = make_run(1, acc=0.9), make_run(2, acc=0.9), make_run(3, acc=0.1)
    errored = make_run(4, status=RunStatus.ERROR)
    other_op = make_run(5, op="prepare")
    policy = Policy(
        objective=parse_objective("newest"),
        criteria=(parse_criterion("acc >= 0.5"),),
        filters=Filters(operations=("train",)),
    )
    result = select([old, passing, failing, errored, other_op], policy)
    assert result.decision is Decision.PROMOTE
    assert result.winner is not None and result.winner.run is passing
    started = passing.started
    assert started is not None
    assert result.winner.objective == started.timestamp()
    assert result.summary == (
        f"run {passing.short_id} is the newest eligible run (started 2026-11-01T02:00:00+00:00); "
        "no champion yet"
    )
    loser = next(v for v in result.verdicts if v.run is old)
    assert loser.reasons == (
        f"started 2026-11-01T01:00:00+00:00, winner {passing.short_id} started "
        "2026-11-01T02:00:00+00:00",
    )


def test_newest_promotes_only_a_run_newer_than_the_champion() -> None:
    older, newer = make_run(1), make_run(2)
    newest = Policy(objective=parse_objective("newest"))
    beaten = select([older, newer], newest, champion(older.id, None))
    assert beaten.decision is Decision.PROMOTE
    assert beaten.summary.endswith(
        f"champion {older.id[:8]} started 2026-11-01T01:00:00+00:00: 3600 s later"
    )
    assert select([older, newer], newest, champion(newer.id, None)).decision is Decision.NOT_BETTER
    patient = Policy(objective=parse_objective("newest"), min_improvement=7200)
    waited = select([older, newer], patient, champion(older.id, None))
    assert waited.decision is Decision.NOT_BETTER
    assert waited.summary.endswith("3600 s later, short of the 7200 s required")
    # the champion's run gone from GUILD_HOME: its recorded value (its start time) decides
    started = datetime(2026, 11, 1, 3, tzinfo=UTC).timestamp()
    result = select([older, newer], newest, Champion("e" * 32, "train", "newest", started, {}))
    assert result.decision is Decision.NOT_BETTER
    assert result.summary.endswith("started 2026-11-01T03:00:00+00:00: not later")


# -- end to end on Guild's examples: git, DVC, the local forge -------------------------------------


@pytest.fixture
def needs_dvc() -> None:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")


def _show(repo_path: Path, ref: str, path: str) -> Any:
    return yaml.safe_load(git(repo_path, "show", f"{ref}:{path}"))


@pytest.mark.slow
def test_newest_promotes_the_last_step_of_an_upstream_pipeline_end_to_end(
    guild_examples: GuildExamples, tmp_path: Path, needs_dvc: None
) -> None:
    """The pipeline's `train` logs no scalars: `newest` promotes the newest one, its model a
    DVC directory output whose md5 is DVC's own (`<md5>.dir`) in every place it is recorded."""
    home = guild_examples.home_with(tmp_path / "home", "prepare", "downstream", "pipeline")
    repo = make_example_repo(
        guild_examples,
        "pipeline",
        tmp_path,
        "source: {operation: train}\n"
        "select: {objective: newest}\n"
        "merge:\n"
        "  flags_file: params.yml\n"
        "  artifacts: [{from: model, to: models/pipeline, dvc: true}]\n",
    )
    common = ("--project", str(repo.work), "--guild-home", str(home))
    newest_train = guild_examples.made["pipeline"][-1]
    code, out, err = promoter("select", "--json", *common)
    assert code == 0, err
    chosen = json.loads(out)
    assert (chosen["decision"], chosen["winner"]) == ("promote", newest_train)
    assert chosen["objective"]["name"] == "newest"
    assert chosen["summary"].startswith(f"run {newest_train[:8]} is the newest eligible run")
    older = next(v for v in chosen["runs"] if v["id"] == guild_examples["downstream"])
    assert older["rank"] == 2 and older["reasons"][0].startswith("started ")
    started = datetime.fromtimestamp(chosen["objective"]["value"], UTC).isoformat(
        timespec="seconds"
    )
    code, table, _ = promoter("select", *common)
    assert code == 0 and "objective: newest" in table and started in table
    code, table, _ = promoter("runs", *common)
    assert code == 0 and "newest" not in table

    forge = tmp_path / "forge"
    code, out, err = promoter("promote", "--json", "--forge-dir", str(forge), *common)
    assert code == 0, err
    result = json.loads(out)
    assert (result["decision"], result["run_id"]) == ("promoted", newest_train)
    pointer = yaml.safe_load(git(repo.bare, "show", "promote/train:models/pipeline.dvc"))
    dir_md5 = pointer["outs"][0]["md5"]
    assert dir_md5.endswith(".dir")
    assert result["model_md5"] == {"models/pipeline": dir_md5}
    record = _show(repo.bare, "promote/train", result["record"])
    assert [d["md5"] for d in record["dvc"]] == [dir_md5]
    champion_file = _show(repo.bare, "promote/train", ".promoter/champion.yaml")
    assert champion_file["model_md5"] == {"models/pipeline": dir_md5}
    assert champion_file["objective"]["name"] == "newest"
    pull = json.loads((forge / "pull-1.json").read_text())
    assert pull["title"] == f"Promote train run {newest_train[:8]}: the newest run"
    body = (forge / "pull-1.md").read_text()
    assert "the newest run, started " in body
    assert "| Packages | pip freeze: not recorded |" in body

    git(repo.work, "fetch", "-q", "origin")
    git(repo.work, "merge", "-q", "--ff-only", "origin/promote/train")
    code, out, err = promoter("verify", "--json", *common)
    assert code == 0, err
    assert (
        f"models/pipeline: record == models/pipeline.dvc == {dir_md5}" in json.loads(out)["checked"]
    )
    code, out, err = promoter("select", *common)
    assert out.startswith("NOT-BETTER")
    assert "already the champion" in out
    assert f"champion: {newest_train[:8]} newest = {started} (from the run)" in out


@pytest.mark.slow
def test_a_target_under_an_ignored_directory_is_refused_before_anything_is_stored(
    guild_examples: GuildExamples, tmp_path: Path, needs_dvc: None
) -> None:
    """`dvc add` fails when the .dvc file would be git-ignored ("bad DVC file name"), and git
    leaves an ignored plain file out of the commit: the plan refuses both, naming the file."""
    home = guild_examples.home_with(tmp_path / "home", "iris")
    config = (
        "source: {operation: iris-svm:train}\n"
        "select: {objective: max test_accuracy}\n"
        "merge:\n"
        "  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]\n"
    )
    repo = make_example_repo(guild_examples, "iris-svm", tmp_path, config)
    (repo.work / ".gitignore").write_text("models/\n")
    commit_all(repo.work, "models are built, not committed")
    git(repo.work, "push", "-q", "origin", "main")
    common = ("--project", str(repo.work), "--guild-home", str(home))
    run = guild_examples["iris"]

    code, out, err = promoter("merge", run, "--preview", *common)
    assert code == 1
    assert "REFUSED  models/model.pkl: its .dvc file would be ignored by git" in out
    code, out, err = promoter("promote", "--json", "--forge-dir", str(tmp_path / "forge"), *common)
    assert code == 1
    assert "models/model.pkl: its .dvc file would be ignored by git" in err
    assert git(repo.bare, "branch", "--format=%(refname:short)").split() == ["main"]
    assert not (repo.dvc_remote / "files").exists()

    (repo.work / ".promoter.yml").write_text(config.replace(", dvc: true", ""))
    code, out, _ = promoter("merge", run, "--preview", *common)
    assert code == 1
    assert "REFUSED  models/model.pkl: is ignored by git, so the commit would leave it out" in out
    code, out, _ = promoter("merge", run, "--replace", *common)
    assert code == 0 and (repo.work / "models" / "model.pkl").is_file()


@pytest.mark.slow
def test_dvcs_own_ignore_entry_for_the_model_is_not_a_refusal(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    """After a first promotion `models/.gitignore` holds `/model.pkl` (dvc writes it): the next
    promotion's target is ignored, its .dvc file is not, and that is how it should be."""
    home = guild_examples.home_with(tmp_path / "home", "iris")
    repo = make_example_repo(
        guild_examples,
        "iris-svm",
        tmp_path,
        "merge:\n  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]\n",
    )
    (repo.work / "models").mkdir()
    (repo.work / "models" / ".gitignore").write_text("/model.pkl\n")
    commit_all(repo.work, "as dvc add leaves it")
    code, out, err = promoter(
        "merge",
        guild_examples["iris"],
        "--preview",
        "--project",
        str(repo.work),
        "--guild-home",
        str(home),
    )
    assert code == 0, err
    assert "would copy  models/model.pkl  <- model.pkl [artifact]" in out
