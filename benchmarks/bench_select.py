"""Benchmark: ``promoter select`` against ``guild select --max val_acc -Sc`` on N runs.

Real runs are made once with ``guild run``; N runs are then generated in Guild's on-disk
format by copying them under new ids, with new start times and a new events file (written
by TensorBoard's own writer) so every run has its own val_acc. Both tools are timed in the
same session, as separate processes, from process start to answer; peak RSS is the child's
``ru_maxrss``. Results go to docs/benchmarks.md (the section between the select markers).

    python benchmarks/bench_select.py [--sizes 200 2000 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.docs_section import machine, update_section  # noqa: E402
from benchmarks.processes import Timing, measure  # noqa: E402
from tests.guildrun import guild_env, guild_exe, guild_run, make_project  # noqa: E402

WORK = ROOT / "benchmarks" / ".work"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench_select:begin -->", "<!-- bench_select:end -->"


@dataclass
class Row:
    runs: int
    ours_cold: Timing
    ours_warm: Timing
    guild_cold: Timing
    guild_warm: Timing
    same: bool

    def line(self) -> str:
        return (
            f"N={self.runs}: promoter cold {self.ours_cold.median:.3f}s warm "
            f"{self.ours_warm.median:.3f}s; guild cold {self.guild_cold.median:.3f}s warm "
            f"{self.guild_warm.median:.3f}s; same answer: {self.same}"
        )


def seed_runs(home: Path) -> list[Path]:
    """A few real runs made by ``guild run`` (kept between benchmark runs)."""
    runs = home / "runs"
    if runs.is_dir() and len(os.listdir(runs)) >= 3:
        return sorted(runs.iterdir())
    project = make_project(WORK / "project")
    home.mkdir(parents=True, exist_ok=True)
    for acc in ("0.81", "0.87", "0.9"):
        guild_run(project, home, "train", f"acc={acc}")
    return sorted(runs.iterdir())


def write_events(path: Path, values: list[float]) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(path))
    for step, value in enumerate(values):
        summary = summary_pb2.Summary(
            value=[
                summary_pb2.Summary.Value(tag="val_acc", simple_value=value),
                summary_pb2.Summary.Value(tag="loss", simple_value=1 - value),
            ]
        )
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
    writer.close()


def generate(n: int, seeds: list[Path]) -> Path:
    """N runs copied from the seeds, each with its own id, start time and scalars."""
    home = WORK / f"home-{n}"
    if (home / "runs").is_dir() and len(os.listdir(home / "runs")) == n:
        return home
    shutil.rmtree(home, ignore_errors=True)
    (home / "runs").mkdir(parents=True)
    rng = random.Random(n)
    start = 1_700_000_000_000_000
    for i in range(n):
        run = home / "runs" / uuid.uuid4().hex
        shutil.copytree(seeds[i % len(seeds)], run)
        attrs = run / ".guild" / "attrs"
        (attrs / "started").write_text(f"{start + i * 1_000_000}\n")
        (attrs / "stopped").write_text(f"{start + i * 1_000_000 + 500_000}\n")
        for old in (run / ".guild").glob("*.tfevents.*"):
            old.unlink()
        final = round(rng.uniform(0.5, 0.99), 6)
        write_events(run / ".guild", [final * (k + 1) / 3 for k in range(3)])
    return home


def promoter_answer(output: str) -> str:
    import json

    return str(json.loads(output)["winner"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the doc")
    args = parser.parse_args()
    guild = guild_exe()
    if guild is None:
        raise SystemExit("guild is not installed: bash scripts/setup.sh")
    promoter = str(Path(sys.executable).parent / "promoter")
    seeds = seed_runs(WORK / "seed-home")
    rows: list[Row] = []
    for n in args.sizes:
        home = generate(n, seeds)
        cache = WORK / f"cache-{n}"
        shutil.rmtree(cache, ignore_errors=True)
        env = {**guild_env(home), "PROMOTER_CACHE_DIR": str(cache)}
        guild_cmd = [guild, "select", "--max", "val_acc", "-Sc"]
        ours_cmd = [promoter, "-q", "select", "--json", "--objective", "max val_acc"]
        guild_cold = Timing([], 0, "")
        for _ in range(args.repeat):
            shutil.rmtree(home / "cache", ignore_errors=True)
            guild_cold.add(measure(guild_cmd, env, 1, WORK))
        guild_warm = measure(guild_cmd, env, args.repeat, WORK)
        ours_cold = measure([*ours_cmd, "--no-cache"], env, args.repeat, WORK)
        measure(ours_cmd, env, 1, WORK)
        ours_warm = measure(ours_cmd, env, args.repeat, WORK)
        answers = {promoter_answer(ours_cold.answer), promoter_answer(ours_warm.answer)}
        same = answers == {guild_warm.answer.strip()} == {guild_cold.answer.strip()}
        row = Row(n, ours_cold, ours_warm, guild_cold, guild_warm, same)
        rows.append(row)
        print(row.line(), flush=True)
        if not same:
            raise SystemExit("promoter and guild disagree: see above")
    report = render(rows, args.repeat)
    print(report)
    if not args.no_write:
        update_section("bench_select", report)


def render(rows: list[Row], repeat: int) -> str:
    lines = [
        BEGIN,
        "## `promoter select` vs `guild select --max val_acc -Sc`",
        "",
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d}.",
        "",
        f"Median (and best) of {repeat} runs of each, wall time from process start to the "
        "answer, as "
        "separate processes in the same session. *Cold*: no index (Guild's "
        "`cache/runs` deleted before each run; promoter with `--no-cache`), which is what a "
        "fresh CI container sees. *Warm*: each tool's own index in place (Guild's sqlite "
        "index; promoter's run cache). Peak RSS is the largest of the process's runs, as "
        "GNU time reports it (`%M`; measured through `wait4` from this benchmark's own "
        "process it would carry this process's high-water mark: a child started with vfork "
        "keeps it across exec).",
        "",
        "| runs | promoter cold | guild cold | ratio (medians) | promoter warm | guild warm | "
        "ratio (medians) | "
        "promoter peak RSS (cold / warm) | guild peak RSS | same winner |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.runs:,} | {r.ours_cold.cell()} | {r.guild_cold.cell()} | "
            f"{r.guild_cold.median / r.ours_cold.median:.1f}x | {r.ours_warm.cell()} | "
            f"{r.guild_warm.cell()} | {r.guild_warm.median / r.ours_warm.median:.1f}x | "
            f"{r.ours_cold.peak_mb:.0f} / {r.ours_warm.peak_mb:.0f} MB | "
            f"{max(r.guild_cold.peak_mb, r.guild_warm.peak_mb):.0f} MB | "
            f"{'yes' if r.same else 'NO'} |"
        )
    lines += [
        "",
        "Reproduce: `bash scripts/setup.sh && .venv/bin/python benchmarks/bench_select.py` "
        "(the generated runs are kept in `benchmarks/.work/`).",
        END,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
