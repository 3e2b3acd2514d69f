"""The promotion record as a pure function of a selection and what the promotion did."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from promoter.core.champion import champion_yaml, parse_champion
from promoter.core.models import Champion, Provenance, Run, RunFile, RunFiles, ScalarSeries
from promoter.core.selection import select
from promoter.promotion.record import DvcRow, PrInfo, TriggerInfo
from promoter.promotion.record_builder import (
    RecordFacts,
    build_record,
    champion_document,
    record_path,
)
from promoter.runs.guild.store import GuildRunStore
from tests.test_selection import make_run, policy

FACTS = RecordFacts(
    provenance=Provenance(host="gpu-1", user="alice", packages=("numpy==2.0", "scikit-learn==1.5")),
    reproduce="guild run train lr=0.2 seed=1",
    run_files=RunFiles(
        source=(),
        dependencies=(RunFile("data.csv", "dependency", "data/data.csv", "d" * 40),),
        generated=(),
    ),
    files=[],
    dvc=[DvcRow("models/m.pkl", "a" * 32, 10, None, "storage", "/remote", True)],
    plots=[],
    trigger=TriggerInfo(event="schedule"),
    pr=PrInfo(branch="promote/train", base="main", title="t"),
    tools={"promoter": "0"},
)


def _selection(champion: Champion | None = None):
    old = replace(make_run(1, val_acc=0.90, loss=0.4), flags={"lr": 0.1, "seed": 1})
    new = replace(make_run(2, val_acc=0.95, loss=0.2), flags={"lr": 0.2, "seed": 1})
    runs = [old, new]
    sel = select(runs, policy(where=("val_acc >= 0.92", "loss <= 0.3")), champion)
    return sel, old


def test_against_the_champion_run_criteria_scalars_and_flags_compare():
    champion = Champion(old_id := f"{1:032x}", "train", "val_acc", 0.90, model_md5={"m": "b" * 32})
    selection, old = _selection(champion)
    facts = replace(FACTS, champion_run=old, champion_model_md5=champion.model_md5)
    record = build_record(selection, facts)

    assert record.decision == "promote"
    assert record.objective.champion_value == 0.90
    assert [(c.criterion, c.passed, c.champion_passed) for c in record.criteria] == [
        ("val_acc >= 0.92", True, False),
        ("loss <= 0.3", True, False),
    ]
    rows = {row.name: row for row in record.scalars}
    assert rows["val_acc"].delta is not None
    assert abs(rows["val_acc"].delta - 0.05) < 1e-9
    flags = {row.name: row for row in record.flags}
    assert flags["lr"].changed and flags["lr"].champion == 0.1
    assert not flags["seed"].changed
    assert record.champion is not None
    assert (record.champion.run_id, record.champion.model_md5) == (old_id, {"m": "b" * 32})
    assert record.dependencies[0].path == "data/data.csv"
    assert record.run.packages_count == 2
    assert record.reproduce.dvc_pull == "dvc pull models/m.pkl"


def test_without_a_champion_nothing_is_compared():
    selection, _ = _selection()
    record = build_record(selection, FACTS)
    assert record.champion is None
    assert all(c.champion_passed is None for c in record.criteria)
    assert all(not f.changed and not f.champion_known for f in record.flags)


def test_champion_document_reads_back_as_the_next_champion():
    selection, _ = _selection()
    record = build_record(selection, FACTS)
    document = champion_document(record)
    assert document.record == record_path(record.run.id)
    champion = parse_champion(champion_yaml(document), "champion.yaml")
    assert champion.run_id == record.run.id
    assert champion.objective_value == 0.95
    assert champion.model_md5 == {"models/m.pkl": "a" * 32}
    assert champion.flags == {"lr": 0.2, "seed": 1}


def test_guild_run_command_quotes_hostile_flag_values():
    run = replace(make_run(3), flags={"name": "a b; rm -rf /", "on": True, "list": [1, 2]})
    words = shlex.split(GuildRunStore(Path("/nowhere")).reproduce(run))
    assert words == ["guild", "run", "train", "list=[1, 2]", "name=a b; rm -rf /", "on=yes"]


def _prefixed_run(n: int, accuracy: float) -> Run:
    """A run whose scalars live where Guild puts TensorBoard subdirectories."""
    series = {
        "validate#accuracy": ScalarSeries("accuracy", "validate", (0, 1), (0.5, accuracy)),
        "foo/bar#a": ScalarSeries("a", "foo/bar", (0,), (7.0,)),
        "loss": ScalarSeries("loss", ".guild", (0,), (0.3,)),
        "sys/mem": ScalarSeries("sys/mem", "", (0,), (1e9,)),
    }
    scalars = {**series, "accuracy": series["validate#accuracy"], "a": series["foo/bar#a"]}
    return replace(make_run(n), scalars=scalars)


def test_prefixed_scalars_keep_their_names_through_the_record_and_the_next_comparison():
    first = _prefixed_run(1, 0.8)
    objective = policy("max validate#accuracy")
    record = build_record(select([first], objective), FACTS)
    names = [row.name for row in record.scalars]
    assert names == ["foo/bar#a", "loss", "validate#accuracy"]
    document = champion_document(record)
    assert document.scalars["validate#accuracy"] == 0.8
    champion = parse_champion(champion_yaml(document), "champion.yaml")
    # The champion's run has left GUILD_HOME: its value comes from the record, by full name.
    second = _prefixed_run(2, 0.85)
    judged = select([second], objective, champion)
    assert judged.champion is not None and judged.champion.value == 0.8
    assert judged.champion.value_source == "record"
    assert judged.improvement == pytest.approx(0.05)


# -- what the reviewer's page needs from the record (issue 14) -------------------------------


def test_the_record_carries_every_other_candidate_of_the_track_with_its_reasons():
    from promoter.core.models import RunStatus
    from promoter.core.selection import Filters

    runs = [
        make_run(1, val_acc=0.90, loss=0.2),
        make_run(2, val_acc=0.95, loss=0.2),
        make_run(3, val_acc=0.97, loss=0.9),  # fails a criterion
        make_run(4, status=RunStatus.ERROR, val_acc=0.99, loss=0.1),
        make_run(5, op="prepare", val_acc=0.5),  # another operation: no candidate
        make_run(6, batch=True, val_acc=0.99),  # a batch parent: no candidate
    ]
    chosen = policy(where=("loss <= 0.3",), filters=Filters(operations=("train",)))
    record = build_record(select(runs, chosen), FACTS)
    assert record.run.id == f"{2:032x}"
    rows = [(c.id[-1], c.rank, c.criteria_passed, c.criteria_total) for c in record.candidates]
    assert rows == [("1", 2, 1, 1), ("3", None, 0, 1), ("4", None, 1, 1)]
    first, failing, crashed = record.candidates
    assert first.reasons == ["val_acc 0.9, winner 00000000 has 0.95"]
    assert first.objective == 0.90 and first.status == "completed" and first.started
    assert failing.reasons == ["fails loss <= 0.3 (loss = 0.9)"]
    assert crashed.reasons == ["status error (candidates must be completed)"]


def test_each_scalar_says_which_way_is_better_where_the_config_says():
    from promoter.core.expr import parse_tie_break
    from promoter.promotion.directions import better_directions

    chosen = policy(
        "max val_acc",
        where=("latency_ms <= 40 and not f1 < 0.5", "loss < 1 or loss > 2", "epochs == 3"),
        tie_breaks=(parse_tie_break("min size_mb"), parse_tie_break("newest")),
    )
    assert better_directions(chosen) == {
        "val_acc": "higher",
        "latency_ms": "lower",
        "f1": "higher",  # not (f1 < 0.5)
        "size_mb": "lower",
    }  # loss points both ways and epochs no way: nothing said
    assert better_directions(policy("newest")) == {}

    selection, old = _selection()
    record = build_record(selection, replace(FACTS, champion_run=old))
    better = {row.name: row.better for row in record.scalars}
    assert better == {"loss": "lower", "val_acc": "higher"}


def test_the_run_by_and_its_ci_job_come_from_what_guild_recorded():
    from promoter.runs.guild.recorded import ci_job_url, recorded_user

    assert recorded_user("alice", {"USER": "bob"}) == "alice"
    assert recorded_user("", {"LOGNAME": "carol", "GITHUB_ACTOR": "dan"}) == "carol"
    assert recorded_user(None, {"GITHUB_ACTOR": "dan"}) == "dan"
    assert recorded_user("", {"USER": " ", "HOME": "/root"}) is None
    github = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/ml",
        "GITHUB_RUN_ID": "42",
    }
    assert ci_job_url(github) == "https://github.com/acme/ml/actions/runs/42"
    assert ci_job_url({**github, "GITHUB_RUN_ID": "4; rm"}) is None
    assert ci_job_url({"CI_JOB_URL": "https://gitlab.example/ml/-/jobs/7"}).endswith("/jobs/7")
    assert ci_job_url({"BUILD_URL": "javascript:alert(1)"}) is None
    assert ci_job_url({}) is None


def test_guild_s_empty_user_is_filled_from_the_recorded_environment(guild_world):
    """Guild writes `user` from $USER alone: these test runs started without it."""
    store = GuildRunStore(guild_world.home)
    run = next(r for r in store.list_runs().runs if r.id == guild_world["best"])
    attrs = guild_world.home / "runs" / run.id / ".guild" / "attrs"
    recorded = (attrs / "user").read_text().strip()
    provenance = store.provenance(run)
    assert provenance.host
    if recorded in ("", "''"):
        import os

        expected = next((os.environ[n] for n in ("LOGNAME", "USERNAME") if os.environ.get(n)), None)
        assert provenance.user == expected
    else:
        assert provenance.user == recorded


def test_the_model_card_is_read_from_the_run_or_says_why_not(tmp_path):
    from promoter.promotion.model_card import MAX_BYTES, read_model_card

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "MODEL_CARD.md").write_text("# Card\n\nIntended use: ranking.\n")
    card = read_model_card(run_dir, "MODEL_CARD.md")
    assert card.text.startswith("# Card") and card.size == 31 and card.problem is None
    assert card.sha256 and len(card.sha256) == 64
    assert read_model_card(run_dir, "CARD.md").problem == "the run has no file CARD.md"
    (tmp_path / "secret.md").write_text("outside")
    (run_dir / "link.md").symlink_to(tmp_path / "secret.md")
    linked = read_model_card(run_dir, "link.md")
    assert linked.text == "" and "is a symlink or not a regular file" in (linked.problem or "")
    (run_dir / "big.md").write_bytes(b"x" * (MAX_BYTES + 1))
    assert "over the 1,048,576 a model card may have" in (
        read_model_card(run_dir, "big.md").problem or ""
    )
