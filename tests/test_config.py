"""Configuration: discovery, defaults, and one clear error per mistake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promoter.config import find_config, load_config, resolve_started_after
from promoter.core.models import RunStatus
from promoter.core.policy import build_policy
from promoter.errors import ConfigError, UsageError
from promoter.tracks import default_branch

FULL = """\
source: {type: guild, guild_home: runs-home, operation: train}
select:
  objective: max val_acc
  where: ["val_acc >= 0.90", "latency_ms <= 40"]
  min_improvement: 0.002
  tie_break: [min loss, newest]
  status: [completed, terminated]
  label: "nightly-*"
  tags: [reviewed]
  started_after: 7d
  require_clean_source: true
merge:
  sourcecode: true
  exclude: ["notebooks/*"]
  flags_file: params.yml
  artifacts:
    - {from: model.pkl, to: models/model.pkl, dvc: true}
  plots: ["*.png", "*.svg"]
dvc: {remote: null, push: true}
pr:
  base: main
  branch: "promote/{op}"
  title: "Promote {op} run {run_short}: {objective_name} {objective_value:.4f}"
  labels: [model-promotion]
  reviewers: []
  draft: false
  template: null
commands: {prefix: /promote, min_permission: write}
"""


def write(tmp_path: Path, text: str, name: str = ".promoter.yml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_full_spec_example_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.select.objective == "max val_acc"
    assert config.merge.artifacts[0].from_ == "model.pkl"
    assert config.merge.artifacts[0].dvc is True
    assert config.source.operations == ("train",)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    policy = build_policy(config, now)
    assert str(policy.objective) == "max val_acc"
    assert [c.text for c in policy.criteria] == ["val_acc >= 0.90", "latency_ms <= 40"]
    assert [str(t) for t in policy.tie_breaks] == ["min loss", "newest"]
    assert policy.filters.statuses == (RunStatus.COMPLETED, RunStatus.TERMINATED)
    assert policy.filters.started_after == now - timedelta(days=7)
    assert policy.filters.require_clean_source is True
    assert policy.min_improvement == 0.002 and not policy.relative_improvement


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    assert config.select.status == [RunStatus.COMPLETED]
    assert config.pr.branch is None and default_branch(None) == "promote/{op}"
    assert config.commands.min_permission == "write"
    with pytest.raises(UsageError, match="no objective"):
        build_policy(config, datetime.now(UTC))


def test_objective_override_and_percent_improvement(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "select: {objective: max acc, min_improvement: '2%'}"))
    policy = build_policy(config, datetime.now(UTC), objective="min loss")
    assert str(policy.objective) == "min loss"
    assert policy.relative_improvement and policy.min_improvement == pytest.approx(0.02)
    assert policy.required_improvement(0.5) == pytest.approx(0.01)


def test_discovery_order(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    github = write(tmp_path, "{}", ".github/promoter.yml")
    assert find_config(tmp_path) == github
    root = write(tmp_path, "{}")
    assert find_config(tmp_path) == root
    with pytest.raises(ConfigError, match="no such file"):
        find_config(tmp_path, tmp_path / "missing.yml")


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("select: {objectve: max acc}", "select.objectve", "unknown key"),
        ("selct: {}", "selct", "unknown key"),
        ("select: {objective: maximize acc}", "select.objective", "must be 'max <scalar>'"),
        ("select: {where: ['acc >= high']}", "select.where[0]", "compare a scalar with a number"),
        ("select: {where: 'acc > 1'}", "select.where", "expected a list, got text"),
        ("select: {min_improvement: -1}", "select.min_improvement", "must not be negative"),
        ("select: {min_improvement: lots}", "select.min_improvement", "percentage"),
        (
            "select: {status: [done]}",
            "select.status[0]",
            "'done' is not one of: completed, error, terminated",
        ),
        ("select: {tie_break: [latest]}", "select.tie_break[0]", "tie-break"),
        ("select: {started_after: yesterday}", "select.started_after", "ISO date"),
        (
            "select: {require_clean_source: maybe}",
            "select.require_clean_source",
            "expected true or false",
        ),
        ("merge: {artifacts: [{from: a}]}", "merge.artifacts[0].to", "required key is missing"),
        (
            "merge: {artifacts: [{from: a, to: b, dvc: 3}]}",
            "merge.artifacts[0].dvc",
            "expected true or false, got an integer",
        ),
        (
            "commands: {min_permission: god}",
            "commands.min_permission",
            "read, triage, write, maintain, admin",
        ),
        ("source: {type: dvc-exp}", "source.type", "'dvc-exp' is not one of: guild, mlflow"),
        ("source: {tracking_uri: x}", "source.tracking_uri", "only for type: mlflow"),
        ("source: {type: mlflow, guild_home: x}", "source.guild_home", "only for type: guild"),
        ("source: {type: mlflow, experiment: []}", "source.experiment", "at least one"),
        ("pr: {labels: urgent}", "pr.labels", "expected a list, got text"),
    ],
)
def test_bad_config_names_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    error = info.value
    assert error.exit_code == 2
    assert error.path == str(path)
    assert error.key == key
    assert reason in error.reason
    assert str(error).startswith(f"{path}: {key}: ")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("select: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("select: {a: 1}\n\tbad: tab", "not valid YAML"),
    ],
)
def test_unparseable_files(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as info:
        load_config(write(tmp_path, text))
    assert info.value.key is None


def test_yaml_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line 2"):
        load_config(write(tmp_path, "select:\n  objective: max: x\n"))


def test_empty_file_is_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).select.objective is None


def test_started_after_forms() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert resolve_started_after("12h", now) == now - timedelta(hours=12)
    assert resolve_started_after("30m", now) == now - timedelta(minutes=30)
    assert resolve_started_after("2w", now) == now - timedelta(weeks=2)
    assert resolve_started_after("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert resolve_started_after("2026-01-01T10:00", now).tzinfo is UTC


def test_yaml_dates_are_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "select: {started_after: 2026-11-01}"))
    assert config.select.started_after == "2026-11-01"
    stamp = load_config(write(tmp_path, "select: {started_after: 2026-11-01 10:00:00}"))
    assert stamp.select.started_after is not None


def test_chosen_scalars_follow_the_config(tmp_path: Path) -> None:
    from promoter.core.policy import chosen_scalars

    text = "select: {objective: max val_acc, where: ['max:loss < 2 and val_acc > 0.5', 'lat < 3']}"
    assert chosen_scalars(load_config(write(tmp_path, text))) == ["val_acc", "max:loss", "lat"]
    assert chosen_scalars(load_config(None)) == []
