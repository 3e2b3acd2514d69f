"""Guild's own example projects (trimmed, tests/data/guild_examples/) with Guild as the oracle.

``promoter runs --json`` against ``guild api runs``, ``promoter select --json`` against
``guild select``, ``promoter merge --preview`` against ``guild api merge --preview``. Where
promoter means to differ from Guild, the test says so and checks the difference is the one
documented (docs/guild-format.md, "Where promoter differs from Guild").
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from promoter.cli import main
from tests.guildexamples import GuildExamples
from tests.guildrun import guild_env, guild_exe

pytestmark = pytest.mark.slow


def promoter_json(*args: str) -> dict[str, Any]:
    """Run ``promoter ARGS --json`` in-process and parse what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--json"])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def listing(guild_examples: GuildExamples) -> dict[str, dict[str, Any]]:
    result = promoter_json(
        "runs", "--guild-home", str(guild_examples.home), "--project", str(guild_examples.root)
    )
    assert result["skipped"] == []
    return {r["id"]: r for r in result["runs"]}


def _same_number(ours: object, theirs: object) -> bool:
    """Our JSON number (non-finite as "NaN"/"Infinity"/"-Infinity") vs Guild's Python float."""
    if isinstance(theirs, float) and not math.isfinite(theirs):
        return ours == ("NaN" if math.isnan(theirs) else "Infinity" if theirs > 0 else "-Infinity")
    if theirs is None:  # Guild's JSON writes a NaN summary as null
        return ours == "NaN"
    return isinstance(ours, int | float) and math.isclose(ours, float(theirs), rel_tol=1e-12)  # type: ignore[arg-type]


def _same_flags(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return ours.keys() == theirs.keys() and all(
        _same_number(ours[k], v) if isinstance(v, float) else ours[k] == v
        for k, v in theirs.items()
    )


SUMMARY_KEYS = [
    ("last", "lastVal"),
    ("first", "firstVal"),
    ("min", "minVal"),
    ("max", "maxVal"),
    ("avg", "avgVal"),
    ("count", "count"),
]


def _micros(iso: str | None) -> int | None:
    return None if iso is None else round(datetime.fromisoformat(iso).timestamp() * 1e6)


# -- promoter runs --json == guild api runs ------------------------------------------------------


def test_every_run_guild_lists_and_no_other(guild_examples, listing) -> None:  # type: ignore[no-untyped-def]
    oracle = guild_examples.api_runs()
    assert set(listing) == set(oracle)
    made = {i for ids in guild_examples.made.values() for i in ids}
    assert set(listing) == made
    assert len(made) == 25


def test_ops_status_label_times_as_guild_shows_them(guild_examples, listing) -> None:  # type: ignore[no-untyped-def]
    for run_id, theirs in guild_examples.api_runs().items():
        ours = listing[run_id]
        assert ours["op"] == theirs["operation"], run_id
        assert ours["status"] == theirs["status"], run_id
        assert ours["label"] == (theirs["label"] or ""), run_id
        assert ours["tags"] == theirs["tags"], run_id
        assert _micros(ours["started"]) == theirs["started"], run_id
        assert _micros(ours["stopped"]) == theirs["stopped"], run_id
    ops = {listing[guild_examples[n]]["op"] for n in ("iris-batch", "intro", "gs-a", "pipeline")}
    assert ops == {"iris-svm:train+", "mnist-intro:train", "train.py", "pipeline"}


def test_flags_equal_guilds_non_finite_as_json_strings(guild_examples, listing) -> None:  # type: ignore[no-untyped-def]
    for run_id, theirs in guild_examples.api_runs().items():
        assert _same_flags(listing[run_id]["flags"], theirs["flags"]), (run_id, theirs["flags"])
    assert listing[guild_examples["gs-nan"]]["flags"] == {"x": "NaN", "noise": "-Infinity"}
    assert listing[guild_examples["gs-inf"]]["flags"] == {"x": 0.5, "noise": "Infinity"}


def test_every_scalar_guild_reports_with_its_prefix_and_summary(guild_examples, listing) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for run_id, theirs in guild_examples.api_runs().items():
        ours = listing[run_id]["scalars"]
        assert {k for k in ours if "#" in k} == {
            f"{s['prefix']}#{s['tag']}" for s in theirs["scalars"]
        }
        assert {k for k in ours if "#" not in k} == {s["tag"] for s in theirs["scalars"]}
        for s in theirs["scalars"]:
            mine = ours[f"{s['prefix']}#{s['tag']}"]
            for key, guild_key in SUMMARY_KEYS:
                assert _same_number(mine[key], s[guild_key]), (run_id, s["prefix"], s["tag"], key)
            checked += 1
        for tag in {s["tag"] for s in theirs["scalars"]}:
            prefixes = sorted(s["prefix"] for s in theirs["scalars"] if s["tag"] == tag)
            preferred = next((p for p in (".guild", "") if p in prefixes), prefixes[0])
            assert ours[tag] == ours[f"{preferred}#{tag}"], (run_id, tag)
    assert checked >= 50


def test_the_scalars_of_each_kind_of_example(guild_examples, listing) -> None:  # type: ignore[no-untyped-def]
    def names(run: str) -> set[str]:
        return set(listing[guild_examples[run]]["scalars"])

    assert {"train#loss", "validate#accuracy", "train#weights/mean"} <= names("intro")
    assert {"foo#a", "foo/bar#a", "foo/bar/baz#a"} <= names("nested")
    assert {".guild#loss", ".guild#accuracy"} <= names("scalars-map")
    assert {"#loss", "#accuracy"} <= names("scalars-events")
    assert {".guild#loss", ".guild#val_loss"} <= names("scalars-line")
    assert {"#sys/mem_used", "#loss"} <= names("summary")
    assert names("downstream") == names("prepare") == set()
    steps = listing[guild_examples["scalars-map"]]["scalars"]["loss"]
    assert steps["count"] == 3 and steps["last"] == pytest.approx(0.5)


# -- promoter select --json == guild select -------------------------------------------------------


def _select(
    bed: GuildExamples, where: Path, objective: str, operations: list[str]
) -> dict[str, Any]:
    where.mkdir(parents=True, exist_ok=True)
    source = f"source: {{operation: {json.dumps(operations)}}}\n" if operations else ""
    (where / ".promoter.yml").write_text(source)
    return promoter_json(
        "select",
        "--project",
        str(where),
        "--guild-home",
        str(bed.home),
        "--objective",
        objective,
    )


@pytest.mark.parametrize(
    ("objective", "operations", "guild_args"),
    [
        ("max test_accuracy", ["iris-svm:train"], ["--max", "test_accuracy"]),
        # four linear-kernel trials tie: the newest wins, in Guild as in promoter
        ("min test_accuracy", ["iris-svm:train"], ["--min", "test_accuracy"]),
        # a prefixed scalar, over the train op of every model (Guild's -Fo matches op parts)
        ("max validate#accuracy", ["train"], ["--max", "validate#accuracy"]),
        ("min train#loss", ["mnist-expert:train"], ["--min", "train#loss"]),
        ("max train#weights/mean", ["mnist-intro:train"], ["--max", "train#weights/mean"]),
        # no operation filter: every run, most without the scalar
        ("max foo/bar#a", [], ["--max", "foo/bar#a"]),
        ("min val_loss", ["train4"], ["--min", "val_loss"]),
        ("max accuracy", ["train2", "train3"], ["--max", "accuracy"]),
        ("min loss", ["summary", "train2"], ["--min", "loss"]),
    ],
)
def test_select_picks_what_guild_select_picks(
    guild_examples: GuildExamples,
    tmp_path: Path,
    objective: str,
    operations: list[str],
    guild_args: list[str],
) -> None:
    filters = [arg for op in operations for arg in ("-Fo", op)]
    theirs = guild_examples.guild("select", *guild_args, *filters, "-Sc").strip()
    ours = _select(guild_examples, tmp_path, objective, operations)
    assert ours["decision"] == "promote"
    assert ours["winner"] == theirs


def test_runs_without_the_scalar_are_never_picked_unlike_guild_select_min(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    """`guild select --min` ranks a run without the scalar first; promoter leaves it out (README
    "How a run is judged", 2): Guild agrees once told to skip such runs."""
    careless = guild_examples.guild("select", "--min", "loss", "-Fo", "train.py", "-Sc").strip()
    assert careless in (guild_examples["gs-nan"], guild_examples["gs-inf"])
    theirs = guild_examples.guild(
        "select", "--min", "loss", "-Fo", "train.py", "-Sc", "-F", "loss is not undefined"
    ).strip()
    ours = _select(guild_examples, tmp_path, "min loss", ["train.py"])
    assert ours["winner"] == theirs != careless
    left_out = {v["id"]: v["reasons"] for v in ours["runs"] if not v["eligible"]}
    assert left_out[careless] == ["objective loss is missing"]


def test_a_batch_run_is_never_a_candidate(guild_examples: GuildExamples, tmp_path: Path) -> None:
    ours = _select(guild_examples, tmp_path, "max test_accuracy", ["iris-svm:train+"])
    assert ours["decision"] == "no-candidate"
    batch = next(v for v in ours["runs"] if v["id"] == guild_examples["iris-batch"])
    assert batch["op"] == "iris-svm:train+"
    assert batch["reasons"][0].startswith("batch run")
    assert [v for v in ours["runs"] if "is not" not in " ".join(v["reasons"])] == [batch]


# -- promoter merge --preview == guild api merge --preview ----------------------------------------

_KINDS = {"s": "source", "d": "dependency"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _target(bed: GuildExamples, run: str, where: Path, config: str = "") -> Path:
    """The run's project in a repository of its own, without the runs' history (so the
    run's commit cannot be had and the snapshot is copied, as `guild merge` copies it: that
    is where Guild's semantics apply), with ``config`` as its ``.promoter.yml``."""
    shutil.copytree(bed.project_of(run), where, ignore=shutil.ignore_patterns(".git"))
    _git(where, "init", "-q", "-b", "main")
    _git(where, "add", "-A")
    _git(where, "commit", "-q", "-m", "the project, without the runs' history")
    if config:
        (where / ".promoter.yml").write_text(config)
        _git(where, "add", ".promoter.yml")
        _git(where, "commit", "-q", "-m", "promoter config")
    return where


def _change(target: Path, *paths: str, commit: bool = True) -> None:
    for path in paths:
        with (target / path).open("a") as f:
            f.write("# changed in the target\n")
    if commit:
        _git(target, "commit", "-q", "-am", "change " + " ".join(paths))


def guild_merge_preview(bed: GuildExamples, run: str, target: Path) -> dict[str, Any]:
    exe = guild_exe()
    assert exe is not None
    done = subprocess.run(
        [exe, "api", "merge", bed[run], "--preview", "--target-dir", str(target)],
        cwd=target,
        env=guild_env(bed.home),
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def promoter_merge_preview(
    bed: GuildExamples, run: str, target: Path
) -> tuple[int, dict[str, Any]]:
    """Exit code and the preview's lines: copies (kind, target), skips and refusals by path."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            [
                "merge",
                bed[run],
                "--preview",
                "--project",
                str(target),
                "--guild-home",
                str(bed.home),
            ]
        )
    found: dict[str, Any] = {"copy": set(), "skip": {}, "refused": {}}
    for line in out.getvalue().splitlines():
        verb, _, rest = line.strip().partition("  ")
        if verb == "would copy":
            path, _, origin = rest.strip().partition("  <- ")
            found["copy"].add((origin.rsplit("[", 1)[1].rstrip("]"), path))
        elif verb in ("skip", "REFUSED"):
            path, _, reason = rest.strip().partition(": ")
            found["skip" if verb == "skip" else "refused"][path] = reason
    return code, found


def _guild_files(preview: dict[str, Any], key: str) -> set[tuple[str, str]]:
    return {
        (_KINDS[f["fileType"]], f["targetPath"])
        for f in preview[key]
        if f["fileType"] in _KINDS and f["targetPath"]  # a `d` from an upstream run has none
    }


@pytest.mark.parametrize(
    ("run", "changed", "copied"),
    [
        ("iris", ["train_svm.py"], {"train_svm.py"}),
        ("gs-a", ["train.py"], {"train.py"}),
        ("scalars-events", ["train_with_events.py", "tbevents.py"], None),
        ("intro", ["intro.py", "dataset/digits.csv"], None),
        # upstream files (operation: dependencies) and generated files stay behind
        ("downstream", ["train.py", "guild.yml"], None),
        # a steps run has no source snapshot of its own: nothing to copy
        ("pipeline", ["guild.yml"], set()),
    ],
)
def test_merge_preview_lists_the_files_guild_merge_would_copy(
    guild_examples: GuildExamples,
    tmp_path: Path,
    run: str,
    changed: list[str],
    copied: set[str] | None,
) -> None:
    """Source files and project-local `file:` dependencies (with merge.dependencies: true, as
    `guild merge` without --skip-deps): the same copies, the same identical files skipped."""
    target = _target(guild_examples, run, tmp_path / "target", "merge: {dependencies: true}\n")
    _change(target, *changed)
    theirs = guild_merge_preview(guild_examples, run, target)
    assert theirs["resp"] == "preview"
    code, ours = promoter_merge_preview(guild_examples, run, target)
    assert code == 0
    assert ours["copy"] == _guild_files(theirs, "toCopy")
    assert {path for _, path in ours["copy"]} == (set(changed) if copied is None else copied)
    identical = {path for path, reason in ours["skip"].items() if reason == "identical"}
    assert identical == {path for _, path in _guild_files(theirs, "toSkip")}


def test_dependencies_are_copied_only_when_asked(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    """A divergence kept: `guild merge` copies project-local dependencies unless --skip-deps;
    promoter only with merge.dependencies: true (a data file is rarely what a promotion changes)."""
    target = _target(guild_examples, "intro", tmp_path / "target")
    _change(target, "dataset/digits.csv")
    theirs = guild_merge_preview(guild_examples, "intro", target)
    assert ("dependency", "dataset/digits.csv") in _guild_files(theirs, "toCopy")
    code, ours = promoter_merge_preview(guild_examples, "intro", target)
    assert code == 0
    assert ours["copy"] == set()
    assert ours["skip"]["data/digits.csv"] == "a dependency (merge.dependencies is false)"


def test_unstaged_changes_are_refused_as_guild_refuses_them(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    target = _target(guild_examples, "intro", tmp_path / "target", "merge: {dependencies: true}\n")
    _change(target, "common.py", "dataset/digits.csv", commit=False)
    theirs = guild_merge_preview(guild_examples, "intro", target)
    assert theirs["resp"] == "unstaged-paths"
    code, ours = promoter_merge_preview(guild_examples, "intro", target)
    assert code == 1
    assert set(ours["refused"]) == set(theirs["paths"]) == {"common.py", "dataset/digits.csv"}
    assert {r.split(" (")[0] for r in ours["refused"].values()} == {"has uncommitted changes"}


def test_a_replaced_file_git_does_not_track_is_refused_as_guild_refuses_it(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    """Guild names every file that would be replaced once one of them is not in git; promoter
    names only that one: the others are committed, so git can bring them back."""
    target = _target(guild_examples, "intro", tmp_path / "target", "merge: {dependencies: true}\n")
    (target / ".gitignore").write_text("dataset/\n")
    _git(target, "rm", "-q", "--cached", "dataset/digits.csv")
    _git(target, "add", ".gitignore")
    _git(target, "commit", "-q", "-m", "the data set is not source")
    _change(target, "intro.py")
    _change(target, "dataset/digits.csv", commit=False)
    theirs = guild_merge_preview(guild_examples, "intro", target)
    assert theirs["resp"] == "replacement-paths"
    assert set(theirs["paths"]) == {"dataset/digits.csv", "intro.py"}
    code, ours = promoter_merge_preview(guild_examples, "intro", target)
    assert code == 1
    assert ours["refused"] == {
        "dataset/digits.csv": "is ignored by git (not source); use --replace"
    }
    assert ("source", "intro.py") in ours["copy"]


def test_staged_changes_are_refused_where_guild_would_replace_them(
    guild_examples: GuildExamples, tmp_path: Path
) -> None:
    """Guild replaces a staged change (the index keeps a copy); promoter refuses it, since the
    promotion commit would otherwise carry or lose someone's half-done work."""
    target = _target(guild_examples, "iris", tmp_path / "target")
    _change(target, "train_svm.py", commit=False)
    _git(target, "add", "train_svm.py")
    theirs = guild_merge_preview(guild_examples, "iris", target)
    assert theirs["resp"] == "preview"
    assert ("source", "train_svm.py") in _guild_files(theirs, "toCopy")
    code, ours = promoter_merge_preview(guild_examples, "iris", target)
    assert code == 1
    assert set(ours["refused"]) == {"train_svm.py"}
