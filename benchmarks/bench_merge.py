"""Benchmark: the merge phase of a promotion, three-way (git merge-tree) against the copy of
the run's snapshot it replaced, on a project of N source files.

The repository: N source files of 1-4 KiB under ``src/`` plus a flags file; the run started
from its commit with 10 files edited (uncommitted); the base then moved on by 10 other files.
Each variant starts from a fresh scratch worktree of the base and ends with the files in
place: the copy hashes every target to skip identical ones, then writes the rest; the
three-way builds the snapshot commit in a temporary index, merges it with the base, checks
the changed paths and switches the worktree to the merged tree. Both then write the flags
file. Median (best) of ``--repeat`` alternating runs in one process; peak RSS of the process.

    python benchmarks/bench_merge.py [--files 1000] [--repeat 7] [--no-docs]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.docs_section import machine, update_section  # noqa: E402
from promoter.config import MergeConfig  # noqa: E402
from promoter.core.models import RunFile, RunFiles  # noqa: E402
from promoter.promotion.merge.plan import FileKind, plan_merge  # noqa: E402
from promoter.promotion.merge.run import merge_run  # noqa: E402
from promoter.promotion.merge.source import (  # noqa: E402
    MergeInputs,
    check_merge,
    merge_source,
    three_way_possible,
)
from promoter.tools.git import Git  # noqa: E402

CHANGED = 10


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_world(where: Path, files: int) -> tuple[Path, Path, str, RunFiles]:
    """The repository (at the moved base), the run's snapshot directory, its commit, and the
    run's files as a store lists them."""
    rng = random.Random(7)
    repo = where / "repo"
    (repo / "src").mkdir(parents=True)
    names = [f"src/module_{i:04d}.py" for i in range(files)]
    for name in names:
        lines = [f"value_{i} = {rng.random()!r}\n" for i in range(rng.randint(40, 160))]
        (repo / name).write_text("".join(lines))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "project")
    commit = _git(repo, "rev-parse", "HEAD").strip()
    run_dir = where / "run"
    shutil.copytree(repo, run_dir, ignore=shutil.ignore_patterns(".git"))
    for name in names[:CHANGED]:  # the run's uncommitted edits
        with (run_dir / name).open("a") as f:
            f.write("# tuned in the run\n")
    for name in names[-CHANGED:]:  # the base moves on
        text = (repo / name).read_text()
        (repo / name).write_text("# fixed on main\n" + text)
    _git(repo, "commit", "-q", "-am", "fixes on main")
    source = tuple(RunFile(n, "source", n) for n in names)
    return repo, run_dir, commit, RunFiles(source, (), ())


def copy_merge(worktree: Path, run_dir: Path, files: RunFiles, config: MergeConfig) -> None:
    plan = plan_merge(files, config, {"lr": 0.1})
    merge_run(worktree, run_dir, plan)


def three_way(
    worktree: Path, run_dir: Path, commit: str, files: RunFiles, config: MergeConfig
) -> None:
    plan = plan_merge(files, config, {"lr": 0.1})
    git = Git(worktree)
    inputs = MergeInputs(git, None, git.head(), "main", "")
    assert three_way_possible(inputs, commit) is None
    tree, merged = merge_source(inputs, "f" * 32, commit, run_dir, plan)
    check_merge(merged, "main")
    git.switch_tree(tree)
    sources = (FileKind.SOURCE, FileKind.DEPENDENCY)
    outputs = [c for c in plan.copies if c.kind not in sources]
    from dataclasses import replace

    merge_run(worktree, run_dir, replace(plan, copies=tuple(outputs)))


def timed(repo: Path, name: str, work: object) -> float:
    worktree = repo.parent / f"wt-{name}"
    _git(repo, "worktree", "add", "-q", "--detach", str(worktree), "main")
    try:
        started = time.perf_counter()
        work(worktree)  # type: ignore[operator]
        return time.perf_counter() - started
    finally:
        _git(repo, "worktree", "remove", "--force", str(worktree))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-docs", action="store_true", help="print, do not edit the doc")
    args = parser.parse_args()
    config = MergeConfig(flags_file="params.yml")
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as scratch:
        repo, run_dir, commit, files = make_world(Path(scratch), args.files)
        times: dict[str, list[float]] = {"copy": [], "three-way": []}
        for _ in range(args.repeat):
            times["copy"].append(
                timed(repo, "copy", lambda wt: copy_merge(wt, run_dir, files, config))
            )
            times["three-way"].append(
                timed(repo, "3way", lambda wt: three_way(wt, run_dir, commit, files, config))
            )
        # What each leaves behind differs on purpose: the copy reverts the base's fixes.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    copy, three = statistics.median(times["copy"]), statistics.median(times["three-way"])
    rows = [
        f"| copy (the snapshot over the base) | {copy:.3f} s ({min(times['copy']):.3f}) |",
        f"| three-way (git merge-tree) | {three:.3f} s ({min(times['three-way']):.3f}) |",
    ]
    section = "\n".join(
        [
            "<!-- bench_merge:begin -->",
            "## The merge phase: three-way against the copy it replaced",
            "",
            f"Machine: {machine()}. Date: {datetime.now(UTC).date().isoformat()}. "
            f"git {_git(ROOT, 'version').split()[-1]}.",
            "",
            f"{args.files:,} source files of 1-4 KiB; the run edited {CHANGED} of them "
            f"(uncommitted), the base changed {CHANGED} others since the run's commit. Each "
            "variant starts from a fresh scratch worktree of the base and ends with the "
            "files in place (and the flags file written). Median (best) of "
            f"{args.repeat} alternating runs in one process (`benchmarks/bench_merge.py`).",
            "",
            "| variant | time |",
            "|:---|---:|",
            *rows,
            "",
            f"Three-way / copy: **{three / copy:.2f}x** (target: at most 1.10x). Peak RSS: "
            f"promoter's process {peak:.0f} MiB (git's children are not measured here: started "
            "with vfork, a child's ru_maxrss carries this process's own high-water mark). "
            "The copy also reverts the base's 10 fixes; the three-way keeps them.",
            "<!-- bench_merge:end -->",
        ]
    )
    print(section)
    if not args.no_docs:
        update_section("bench_merge", section)


if __name__ == "__main__":
    main()
