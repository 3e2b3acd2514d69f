"""Merge planning as a pure function: no disk, no git."""

from __future__ import annotations

import json

import pytest
import yaml

from promoter.config import ArtifactConfig, MergeConfig
from promoter.core.models import RunFile, RunFiles
from promoter.promotion.merge.plan import (
    PROTECTED,
    STALE_OUTPUT,
    FileKind,
    GitState,
    TargetState,
    check_targets,
    format_flags,
    plan_merge,
    safe_relpath,
)

FILES = RunFiles(
    source=(
        RunFile("train.py", "source", "train.py", "a" * 40),
        RunFile("guild.yml", "source", "guild.yml", "b" * 40),
        RunFile("notebooks/x.ipynb", "source", "notebooks/x.ipynb", "c" * 40),
    ),
    dependencies=(
        RunFile("data.csv", "dependency", "data/data.csv", "d" * 40, uri="file:data/data.csv"),
        RunFile("cfg.yml", "dependency", None, None, uri="config:cfg.yml"),
    ),
    generated=(
        RunFile("model.pkl", "generated", size=10),
        RunFile("plots/loss.png", "generated", size=5),
        RunFile("samples/a.txt", "generated", size=1),
        RunFile("samples/sub/b.txt", "generated", size=1),
    ),
)


def _targets(plan):
    return {c.project_path: c for c in plan.copies}


def test_source_files_go_back_to_their_project_paths_and_generated_files_stay():
    plan = plan_merge(FILES, MergeConfig())
    assert set(_targets(plan)) == {"train.py", "guild.yml", "notebooks/x.ipynb"}
    reasons = {s.run_path: s.reason for s in plan.skips}
    assert reasons["model.pkl"] == "generated file not in merge.artifacts"
    assert "merge.dependencies is false" in reasons["data.csv"]
    assert reasons["cfg.yml"].startswith("not a project file")
    assert plan.ok


def test_artifacts_exclude_dependencies_and_flags_file():
    config = MergeConfig(
        dependencies=True,
        exclude=["notebooks/*"],
        flags_file="params.yml",
        artifacts=[
            ArtifactConfig(from_="model.pkl", to="models/model.pkl", dvc=True),
            ArtifactConfig(from_="samples/", to="data/samples", dvc=True),
        ],
    )
    plan = plan_merge(FILES, config, {"lr": 0.1, "epochs": 3})
    targets = _targets(plan)
    assert targets["models/model.pkl"].kind is FileKind.ARTIFACT
    assert targets["models/model.pkl"].dvc
    assert targets["data/samples/sub/b.txt"].run_path == "samples/sub/b.txt"
    assert targets["data/data.csv"].kind is FileKind.DEPENDENCY
    assert "notebooks/x.ipynb" not in targets
    assert yaml.safe_load(targets["params.yml"].content) == {"lr": 0.1, "epochs": 3}
    excluded = [s for s in plan.skips if s.run_path == "notebooks/x.ipynb"]
    assert "merge.exclude 'notebooks/*'" in excluded[0].reason


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/b.py", "a/b.py"),
        ("./a//b.py", "a/b.py"),
        ("a/../b.py", "b.py"),
        ("../b.py", None),
        ("a/../../b.py", None),
        ("/etc/passwd", None),
        ("C:evil", None),
        ("a\\..\\b", None),
        ("", None),
        (".", None),
        ("x\x00y", None),
    ],
)
def test_safe_relpath(path, expected):
    assert safe_relpath(path) == expected


def test_paths_that_escape_or_touch_internals_are_refused():
    hostile = RunFiles(
        source=(
            RunFile("../../etc/cron", "source", "cron", None),
            RunFile("ok.py", "source", "../outside.py", None),
            RunFile("hook", "source", ".git/hooks/post-checkout", None),
        ),
        dependencies=(),
        generated=(RunFile("model.pkl", "generated"),),
    )
    config = MergeConfig(
        flags_file="../params.yml",
        artifacts=[
            ArtifactConfig(from_="model.pkl", to="../../model.pkl"),
            ArtifactConfig(from_="model.pkl", to=".dvc/cache/x"),
            ArtifactConfig(from_="missing.bin", to="m.bin"),
        ],
    )
    plan = plan_merge(hostile, config, {"a": 1})
    refused = {r.path: r.reason for r in plan.refusals}
    assert refused["../../etc/cron"] == "run path escapes the run directory"
    assert refused["../outside.py"] == "target path is outside the project"
    assert refused[".git/hooks/post-checkout"] == "a path inside .git, which git refuses"
    assert refused["../../model.pkl"] == "target path is outside the project"
    assert refused[".dvc/cache/x"] == "promoter never writes into .dvc/"
    assert refused["missing.bin"].startswith("the run has no such generated file; it has: ")
    assert "model.pkl" in refused["missing.bin"]
    assert refused["../params.yml"] == "flags_file is outside the project"
    assert not plan.copies
    assert not plan.ok


def test_two_outputs_for_one_target_are_refused():
    config = MergeConfig(
        flags_file="out/params.yml",
        artifacts=[ArtifactConfig(from_="model.pkl", to="out/params.yml")],
    )
    plan = plan_merge(FILES, config, {"lr": 1})
    assert [r.path for r in plan.refusals] == ["out/params.yml"]
    assert "written twice" in plan.refusals[0].reason


def test_outputs_own_their_paths_over_the_run_s_stale_snapshot():
    """After a promotion with flags_file params.yml is merged, later runs' snapshots hold
    params.yml: the flags written from the run win, the snapshot's copy is skipped."""
    files = RunFiles(
        source=(
            RunFile("params.yml", "source", "params.yml", None),
            RunFile("models/model.pkl", "source", "models/model.pkl", None),
            RunFile("train.py", "source", "train.py", None),
        ),
        dependencies=(),
        generated=(RunFile("model.pkl", "generated"),),
    )
    config = MergeConfig(
        flags_file="params.yml",
        artifacts=[ArtifactConfig(from_="model.pkl", to="models/model.pkl", dvc=True)],
    )
    plan = plan_merge(files, config, {"lr": 0.2})
    assert plan.ok
    kinds = {c.project_path: c.kind for c in plan.copies}
    assert kinds == {
        "params.yml": FileKind.FLAGS,
        "models/model.pkl": FileKind.ARTIFACT,
        "train.py": FileKind.SOURCE,
    }
    skipped = {s.project_path: s.reason for s in plan.skips}
    assert skipped["params.yml"] == skipped["models/model.pkl"] == STALE_OUTPUT


def test_check_targets_skips_identical_and_refuses_changed_untracked_ignored_symlinks():
    config = MergeConfig(
        flags_file="params.json",
        artifacts=[ArtifactConfig(from_="model.pkl", to="models/model.pkl", dvc=True)],
    )
    plan = plan_merge(FILES, config, {"lr": 1})
    states = {
        "train.py": TargetState(exists=True, git=GitState.CHANGED),
        "guild.yml": TargetState(exists=True, git=GitState.CHANGED, identical=True),
        "notebooks/x.ipynb": TargetState(exists=True, git=GitState.UNTRACKED),
        "models/model.pkl": TargetState(exists=True, git=GitState.IGNORED),
        "params.json": TargetState(exists=True, symlink=True),
    }
    checked = check_targets(plan, states)
    refused = {r.path: r.reason for r in checked.refusals}
    assert set(refused) == {"train.py", "notebooks/x.ipynb", "models/model.pkl", "params.json"}
    assert "uncommitted changes" in refused["train.py"]
    assert "--replace" in refused["models/model.pkl"]
    assert [s.project_path for s in checked.skips if s.reason == "identical"] == ["guild.yml"]

    replaced = check_targets(plan, states, replace_changed=True)
    assert [r.path for r in replaced.refusals] == ["params.json"]
    assert {c.project_path for c in replaced.copies} == {
        "train.py",
        "notebooks/x.ipynb",
        "models/model.pkl",
    }


def test_clean_targets_that_differ_are_copied():
    plan = plan_merge(FILES, MergeConfig())
    checked = check_targets(plan, {"train.py": TargetState(exists=True, git=GitState.CLEAN)})
    assert {c.project_path for c in checked.copies} == {
        "train.py",
        "guild.yml",
        "notebooks/x.ipynb",
    }
    assert checked.ok


def test_flags_file_format_follows_the_extension():
    flags = {"b": [1, 2], "a": "x: y", "c": None}
    assert json.loads(format_flags(flags, "p.json")) == flags
    assert yaml.safe_load(format_flags(flags, "p.yaml")) == flags
    assert format_flags(flags, "p.yml").decode().splitlines()[0].startswith("a:")


HOSTILE_PATHS = {
    # path: what the plan and the target check make of it when the base has no such file
    ".github/workflows/evil.yml": "refused",
    ".GitHub/Workflows/evil.yml": "refused",
    "sub/.github/dependabot.yml": "refused",
    ".gitlab-ci.yml": "refused",
    ".gitlab/ci/jobs.yml": "refused",
    ".gitmodules": "refused",
    "data/.gitattributes": "refused",
    "src/.GITIGNORE": "refused",
    "CODEOWNERS": "refused",
    "docs/CODEOWNERS": "refused",
    ".promoter.yml": "refused",
    ".GIT/config": "refused",
    "a/.git/hooks/pre-commit": "refused",
    ".git./config": "refused",
    "GIT~1/config": "refused",
    ".dvc/config": "skipped",
    "sub/.dvc/config.local": "skipped",
    ".promoter/champion.yaml": "skipped",
    ".guild/attrs/flags": "skipped",
    "github/workflow.yml": "copied",
    "src/git.py": "copied",
    "my.gitignore.txt": "copied",
}


@pytest.mark.parametrize(("path", "fate"), sorted(HOSTILE_PATHS.items()))
def test_a_run_cannot_change_how_the_repository_runs(path: str, fate: str) -> None:
    files = RunFiles(source=(RunFile(path, "source", path, None),), dependencies=(), generated=())
    plan = check_targets(plan_merge(files, MergeConfig()), {})
    outcome = {
        "refused": [r.path for r in plan.refusals],
        "skipped": [s.project_path for s in plan.skips],
        "copied": [c.project_path for c in plan.copies],
    }
    assert outcome[fate] == [path], outcome
    for other in set(outcome) - {fate}:
        assert outcome[other] == []


def test_automation_identical_to_the_base_is_skipped_and_merge_allow_lets_a_change_in() -> None:
    path = ".github/workflows/ci.yml"
    files = RunFiles(source=(RunFile(path, "source", path, None),), dependencies=(), generated=())
    plan = plan_merge(files, MergeConfig())
    same = TargetState(exists=True, git=GitState.CLEAN, identical=True)
    changed = TargetState(exists=True, git=GitState.CLEAN, identical=False)
    assert [s.reason for s in check_targets(plan, {path: same}).skips] == ["identical"]
    (refusal,) = check_targets(plan, {path: changed}).refusals
    assert refusal.reason == PROTECTED.format(reason=".github/ configures the forge and its CI")
    allowing = plan_merge(files, MergeConfig(allow=[".github/workflows/*.yml"]))
    assert [c.project_path for c in check_targets(allowing, {path: changed}).copies] == [path]


def test_a_flags_file_or_an_artifact_is_guarded_like_a_source_file() -> None:
    files = RunFiles(source=(), dependencies=(), generated=(RunFile("m.pkl", "generated"),))
    config = MergeConfig(
        flags_file=".gitattributes",
        artifacts=[ArtifactConfig(from_="m.pkl", to=".Git/m.pkl")],
    )
    plan = check_targets(plan_merge(files, config, {"lr": 0.1}), {})
    assert {r.path for r in plan.refusals} == {".gitattributes", ".Git/m.pkl"}
