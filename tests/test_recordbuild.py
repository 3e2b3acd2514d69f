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
