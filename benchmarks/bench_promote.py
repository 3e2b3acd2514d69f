"""Benchmark: ``promoter promote`` of one real Guild run against the plain-tools floor.

One run per model size is made with ``guild run`` of a tiny project written at run time: it
writes ``model.bin`` (N random bytes, 1 MiB at a time) and ``samples/`` (1,000 random files of
1-4 KiB). ``promoter promote --json`` (the CLI, a subprocess) then promotes it into a fresh
project repository with a bare git remote, an empty local DVC remote and the local forge; the
floor is the same data work done by plain tools in one shell script: ``cp`` the model and the
samples into a project directory, ``md5sum`` all of them, ``cp`` them into a remote directory
(the model at ``files/md5/xx/rest``). The two alternate, each repetition on fresh directories.
Peak RSS is ``ru_maxrss`` from ``wait4`` on the measured command: the largest process of its
tree (promoter, dvc, git; bash, cp, md5sum). Promoter's own peak is taken in its process.
Results go to docs/benchmarks.md (the section between the bench_promote markers).

    python benchmarks/bench_promote.py [--sizes 256M,1G] [--repeat 3] [--no-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.docs_section import machine, update_section  # noqa: E402
from tests.guildrun import guild_env, guild_exe, guild_run  # noqa: E402
from tests.repos import (  # noqa: E402
    commit_all,
    dvc_exe,
    git,
    make_dvc_remote,
    make_repo_with_bare_remote,
)

WORK = ROOT / "benchmarks" / ".work" / "promote"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench_promote:begin -->", "<!-- bench_promote:end -->"
MIB = 1 << 20
SAMPLES = 1000
TARGET_RATIO = 1.5
#: Memory is "flat" when the largest size's peak is within this factor of the smallest's.
FLAT_FACTOR = 1.10

GUILD_YML = """\
train:
  description: Writes a model of `size` random bytes and `samples` small random files
  main: train
  flags:
    size: 1048576
    samples: 1000
    seed: 1
"""

TRAIN_PY = """\
import os
import random

size = 1048576
samples = 1000
seed = 1

rng = random.Random(seed)
chunk = 1 << 20
with open("model.bin", "wb") as f:  # 1 MiB at a time: memory stays flat in the size
    left = size
    while left > 0:
        n = min(chunk, left)
        f.write(rng.randbytes(n))
        left -= n
os.makedirs("samples", exist_ok=True)
for i in range(samples):
    with open(os.path.join("samples", f"sample-{i:04d}.bin"), "wb") as f:
        f.write(rng.randbytes(rng.randint(1024, 4096)))
print("val_acc: 0.9")
"""

PROMOTER_YML = """\
select: {objective: max val_acc}
merge:
  artifacts:
    - {from: model.bin, to: models/model.bin, dvc: true}
    - {from: samples, to: data/samples, dvc: true}
"""

FLOOR_SH = """\
set -euo pipefail
run=$1 proj=$2 remote=$3
mkdir -p "$proj/models" "$proj/data" "$remote"
cp "$run/model.bin" "$proj/models/model.bin"
cp -r "$run/samples" "$proj/data/samples"
md5sum "$proj/models/model.bin" "$proj"/data/samples/* > "$proj/md5sums"
sum=$(head -n 1 "$proj/md5sums" | cut -d ' ' -f 1)
mkdir -p "$remote/files/md5/${sum:0:2}"
cp "$proj/models/model.bin" "$remote/files/md5/${sum:0:2}/${sum:2}"
cp -r "$proj/data/samples" "$remote/samples"
"""

# The console script `promoter` is `sys.exit(main())`; this is the same, and reports the
# Python process's own peak RSS (ru_maxrss of RUSAGE_SELF, KiB) on its last stderr line.
PROMOTER_MAIN = """\
import resource, sys
from promoter.cli import main
code = main(sys.argv[1:])
sys.stderr.flush()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write(f"bench-self-maxrss-kib: {peak}\\n")
sys.exit(code)
"""
SELF_RSS = re.compile(r"bench-self-maxrss-kib: (\d+)")

#: Promoter's INFO lines on stderr that start each phase; a phase ends where the next starts.
PHASES: list[tuple[str, str]] = [
    ("start-up, select, git fetch, worktree add", ""),
    ("merge (copy run files into the worktree)", "merging run "),
    ("dvc add", "dvc add "),
    ("dvc push + verify remote", "dvc push "),
    ("plots, record, git add + commit", "verified in DVC remote"),
    ("git push", "committed "),
    ("PR body + forge, worktree remove, exit", "pushed "),
]


@dataclass
class Measured:
    """One measured command."""

    seconds: float
    peak_mib: float
    self_mib: float | None = None
    phases: list[float] = field(default_factory=list)
    stdout: str = ""


@dataclass
class Series:
    """The repetitions of one command at one size."""

    runs: list[Measured] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(m.seconds for m in self.runs)

    @property
    def best(self) -> float:
        return min(m.seconds for m in self.runs)

    @property
    def peak_mib(self) -> float:
        return max(m.peak_mib for m in self.runs)

    @property
    def self_mib(self) -> float | None:
        values = [m.self_mib for m in self.runs if m.self_mib is not None]
        return max(values) if values else None

    @property
    def worst(self) -> float:
        return max(m.seconds for m in self.runs)

    def cell(self) -> str:
        """``median (best-worst)``: interference on a shared VM only ever adds time."""
        return f"{self.median:.2f} s ({self.best:.2f}-{self.worst:.2f})"

    def phase_medians(self) -> list[float]:
        return [statistics.median(col) for col in zip(*(m.phases for m in self.runs), strict=True)]


@dataclass
class Row:
    label: str
    size: int
    floor: Series
    promoter: Series

    @property
    def ratio(self) -> float:
        return self.promoter.median / self.floor.median


def parse_size(text: str) -> int:
    """``256M``, ``1G``, ``64K`` or a byte count; binary units."""
    match = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(match[1]) << {"": 0, "K": 10, "M": 20, "G": 30}[match[2]]


def label_of(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"


def make_run(size: int, home: Path) -> Path:
    """A completed Guild run of the benchmark project with a ``size``-byte model."""
    project = WORK / "guild-project"
    if not (project / ".git").is_dir():
        project.mkdir(parents=True, exist_ok=True)
        (project / "guild.yml").write_text(GUILD_YML)
        (project / "train.py").write_text(TRAIN_PY)
        git(project, "init", "-q", "-b", "main")
        git(project, "add", ".")
        identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        git(project, *identity, "commit", "-qm", "benchmark project")
    home.mkdir(parents=True)
    run_id = guild_run(project, home, "train", f"size={size}", f"samples={SAMPLES}")
    run_dir = home / "runs" / run_id
    status = (run_dir / ".guild" / "attrs" / "exit_status").read_text().strip()
    model = run_dir / "model.bin"
    if status != "0" or not model.is_file() or model.stat().st_size != size:
        raise SystemExit(f"guild run {run_id} failed (exit_status {status}): see {run_dir}")
    if len(os.listdir(run_dir / "samples")) != SAMPLES:
        raise SystemExit(f"guild run {run_id} wrote the wrong number of samples")
    return run_dir


def fresh_project(where: Path) -> tuple[Path, Path]:
    """A project repo with a bare git remote, an empty local DVC remote; (work, forge)."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    work, _ = make_repo_with_bare_remote(where)
    (work / "guild.yml").write_text(GUILD_YML)
    (work / "train.py").write_text(TRAIN_PY)
    (work / ".promoter.yml").write_text(PROMOTER_YML)
    make_dvc_remote(work, where / "dvc-remote")
    commit_all(work, "project")
    git(work, "push", "-q", "origin", "main")
    return work, where / "forge"


def promoter_env(home: Path) -> dict[str, str]:
    env = guild_env(home)
    env.update(DVC_NO_ANALYTICS="1", NO_WARN_RUNDIR="1")
    # The machine's git config (hooks, signing) must not change what is measured.
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[Measured, list[str]]:
    """Run ``cmd`` once: wall time, ``wait4`` peak RSS, stderr lines with arrival times."""
    subprocess.run(["sync"], check=True)  # no dirty pages of the previous command left over
    lines: list[tuple[float, str]] = []
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    err = proc.stderr

    def read_stderr() -> None:
        for raw in err:
            lines.append((time.perf_counter() - started, raw.decode(errors="replace").rstrip()))

    reader = threading.Thread(target=read_stderr)
    reader.start()
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    text = [line for _, line in lines]
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed with {proc.returncode}:\n" + "\n".join(text))
    measured = Measured(seconds, usage.ru_maxrss / 1024, stdout=out)
    for _, line in lines:
        if m := SELF_RSS.search(line):
            measured.self_mib = int(m[1]) / 1024
    measured.phases = _phases(lines, seconds)
    return measured, text


def _phases(lines: list[tuple[float, str]], total: float) -> list[float]:
    starts = [0.0]
    for _, marker in PHASES[1:]:
        at = next((t for t, line in lines if line.startswith(marker)), None)
        starts.append(at if at is not None else starts[-1])
    ends = [*starts[1:], total]
    return [end - start for start, end in zip(starts, ends, strict=True)]


def run_floor(run_dir: Path, where: Path) -> tuple[Measured, str]:
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    script = WORK / "floor.sh"
    script.write_text(FLOOR_SH)
    proj, remote = where / "project", where / "remote"
    measured, _ = measure(
        ["bash", str(script), str(run_dir), str(proj), str(remote)], dict(os.environ), where
    )
    md5 = (proj / "md5sums").read_text().split()[0]
    stored = remote / "files" / "md5" / md5[:2] / md5[2:]
    if stored.stat().st_size != (run_dir / "model.bin").stat().st_size:
        raise SystemExit("the floor script did not store the model")
    shutil.rmtree(where)
    return measured, md5


def run_promoter(home: Path, where: Path, expected_md5: str) -> Measured:
    work, forge = fresh_project(where)
    cmd = [sys.executable, "-c", PROMOTER_MAIN, "promote", "--project", str(work)]
    cmd += ["--guild-home", str(home), "--forge-dir", str(forge), "--json"]
    measured, stderr = measure(cmd, promoter_env(home), work)
    result = json.loads(measured.stdout)
    if result.get("decision") != "promoted":
        raise SystemExit(f"promoter did not promote: {result}\n" + "\n".join(stderr))
    md5 = result["model_md5"].get("models/model.bin")
    if md5 != expected_md5:
        raise SystemExit(f"promoter stored md5 {md5}, the floor computed {expected_md5}")
    if not (where / "dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]).is_file():
        raise SystemExit("the model is not in the DVC remote")
    shutil.rmtree(where)
    return measured


def bench_size(size: int, repeat: int) -> Row:
    label = label_of(size)
    home = WORK / "guild-home"
    shutil.rmtree(home, ignore_errors=True)
    print(f"== {label}: guild run", flush=True)
    run_dir = make_run(size, home)
    # Untimed warm-up: the first large write after the run is slower on this VM, whoever does it.
    _, md5 = run_floor(run_dir, WORK / "floor")
    floor, promoter = Series(), Series()
    for rep in range(repeat):
        # Alternate which goes first, so neither always follows the other's page-cache state.
        order = ("floor", "promoter") if rep % 2 == 0 else ("promoter", "floor")
        for which in order:
            if which == "floor":
                measured, md5 = run_floor(run_dir, WORK / "floor")
                floor.runs.append(measured)
            else:
                measured = run_promoter(home, WORK / "repo", md5)
                promoter.runs.append(measured)
            self_rss = f", own {measured.self_mib:.0f} MiB" if measured.self_mib else ""
            print(
                f"  {label} rep {rep + 1}: {which:8} {measured.seconds:7.2f} s, "
                f"peak {measured.peak_mib:.0f} MiB{self_rss}",
                flush=True,
            )
    shutil.rmtree(home, ignore_errors=True)
    return Row(label, size, floor, promoter)


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "?"
    return out.strip().splitlines()[0] if out.strip() else "?"


def versions() -> str:
    import promoter

    dvc = dvc_exe() or "dvc"
    git_version = _first_line(["git", "--version"]).removeprefix("git version ")
    return (
        f"promoter {promoter.__version__}, dvc {_first_line([dvc, '--version'])}, "
        f"git {git_version}, guildai {metadata.version('guildai')}, "
        f"Python {platform.python_version()}"
    )


def render(rows: list[Row], repeat: int) -> str:
    ratio_ok = all(r.ratio <= TARGET_RATIO for r in rows)
    small, large = min(rows, key=lambda r: r.size), max(rows, key=lambda r: r.size)
    flat = large.promoter.peak_mib <= small.promoter.peak_mib * FLAT_FACTOR
    lines = [
        BEGIN,
        "## `promoter promote` vs the plain-tools floor",
        "",
        f"Machine: {machine(WORK)}. Date: {datetime.now(UTC):%Y-%m-%d}. Versions: {versions()}.",
        "",
        "Method: one real run per model size, made with `guild run` of a tiny project that "
        f"writes `model.bin` (random bytes, 1 MiB at a time) and `samples/` ({SAMPLES:,} random "
        "files of 1-4 KiB). `promoter promote --json` (the CLI, a subprocess, default log "
        "level) promotes it into a fresh project repository each time (bare git remote, empty "
        "local DVC remote, local forge), with both artifacts `dvc: true`. The floor is the same "
        "data work by plain tools, one `bash` script: `cp` the model and `cp -r` the samples "
        "into a project directory, `md5sum` all of them, `cp` the model into "
        "`remote/files/md5/xx/rest` and `cp -r` the samples into the remote. "
        f"Median (best-worst) of {repeat} repetitions, the two alternating on the same run (so "
        "the same page-cache state), `sync` before each, after one untimed floor run (the "
        "first large write after `guild run` is the slowest on this VM). Peak RSS is "
        "`ru_maxrss` from `wait4` on the measured command: the largest single process of "
        "its tree (promoter, dvc, git; or cp/md5sum); *own* is promoter's Python process "
        "alone.",
        "",
        "| model | floor | promoter | ratio (medians) | peak RSS floor | "
        "peak RSS promoter (largest process / own) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        own = f"{r.promoter.self_mib:.0f}" if r.promoter.self_mib else "?"
        lines.append(
            f"| {r.label} | {r.floor.cell()} | {r.promoter.cell()} | {r.ratio:.2f}x | "
            f"{r.floor.peak_mib:.0f} MiB | {r.promoter.peak_mib:.0f} / {own} MiB |"
        )
    lines += [
        "",
        "Where promoter's time goes (medians, seconds; a phase runs from one INFO log line on "
        "stderr to the next, timed as the lines arrive):",
        "",
        "| phase | " + " | ".join(r.label for r in rows) + " |",
        "|:---|" + "---:|" * len(rows),
    ]
    medians = [r.promoter.phase_medians() for r in rows]
    for i, (name, _) in enumerate(PHASES):
        lines.append(f"| {name} | " + " | ".join(f"{m[i]:.2f}" for m in medians) + " |")
    lines += [
        "",
        f"Target (the issue): within {TARGET_RATIO}x of the floor, memory flat in model size. "
        f"Time: **{'met' if ratio_ok else 'NOT met'}** ("
        + ", ".join(f"{r.ratio:.2f}x at {r.label}" for r in rows)
        + f"). Memory: **{'met' if flat else 'NOT met'}** (promoter's peak RSS "
        f"{small.promoter.peak_mib:.0f} MiB at {small.label}, "
        f"{large.promoter.peak_mib:.0f} MiB at {large.label}).",
        "",
        "Reproduce: `.venv/bin/python benchmarks/bench_promote.py --sizes 256M,1G --repeat 3` "
        "(needs ~5 GB free; scratch in `benchmarks/.work/promote/`, removed as it goes).",
        END,
    ]
    return "\n".join(lines)


def print_rows(rows: list[Row]) -> None:
    print(
        f"{'model':>8} | {'floor':>21} | {'promoter':>21} | {'ratio':>6} | "
        f"{'RSS floor':>9} | {'RSS promoter (own)':>18}"
    )
    for r in rows:
        own = f"{r.promoter.self_mib:.0f}" if r.promoter.self_mib else "?"
        print(
            f"{r.label:>8} | {r.floor.cell():>21} | {r.promoter.cell():>21} | "
            f"{r.ratio:5.2f}x | {r.floor.peak_mib:6.0f} MiB | "
            f"{r.promoter.peak_mib:6.0f} MiB ({own:>4})"
        )
    print()
    for r in rows:
        print(f"promoter phases at {r.label} (median s):")
        for (name, _), value in zip(PHASES, r.promoter.phase_medians(), strict=True):
            print(f"  {value:7.2f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: [parse_size(p) for p in s.split(",") if p.strip()],
        default=[256 * MIB, 1024 * MIB],
        help="model sizes, comma-separated (default: 256M,1G)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-docs", action="store_true", help="print, do not edit the doc")
    args = parser.parse_args()
    if guild_exe() is None or dvc_exe() is None:
        raise SystemExit("guild and dvc are needed: bash scripts/setup.sh")
    os.environ.update(DVC_NO_ANALYTICS="1", NO_WARN_RUNDIR="1")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    need = 5 * max(args.sizes)
    free = shutil.disk_usage(WORK).free
    if free < need:
        raise SystemExit(f"{free / 2**30:.1f} GiB free under {WORK}; need {need / 2**30:.1f}")
    rows = [bench_size(size, args.repeat) for size in sorted(args.sizes)]
    shutil.rmtree(WORK, ignore_errors=True)
    print()
    print_rows(rows)
    report = render(rows, args.repeat)
    if not args.no_docs:
        update_section("bench_promote", report)
        print(f"\nwrote the bench_promote section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
