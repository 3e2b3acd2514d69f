"""Benchmark: ``promoter select`` reading a Guild remote on S3 against what a user does today,
``guild pull`` of every run and then ``guild select --max val_acc -Sc``.

The runs are bench_select's (N copies of real ``guild run`` runs, each with its own id, start
time and val_acc). They are put into moto's S3 server on loopback with one ``aws s3 sync`` of
the runs directory (``guild push`` runs that same command once per run, which would take an
hour here) plus a ``meta-id``, the layout ``guild push`` leaves (the tests check it with real
pushes). promoter is timed cold (empty cache) and warm; the peer is timed once, into an empty
Guild home, because a pull of N runs takes long. Peak memory is the child's ``ru_maxrss``
(for guild pull: its largest process, the ``aws`` children included).

    python benchmarks/bench_select_remote.py [--runs 2000] [--repeat 3] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_select import WORK, generate, seed_runs  # noqa: E402
from benchmarks.docs_section import machine, update_section  # noqa: E402
from tests.guildrun import guild_env, guild_exe  # noqa: E402
from tests.s3server import S3Server, s3_server, write_guild_config  # noqa: E402

BUCKET, PREFIX, REMOTE = "bench", "guild", "bench"
TRAFFIC = re.compile(r"(\d+) objects \((\d+) bytes\), (\d+) pages")


@dataclass
class Run:
    seconds: float
    peak_mb: float
    out: str
    err: str


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Run ``cmd`` to its end: wall time from start, the child's peak RSS, its output."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        err = errors.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}):\n{err[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, out.decode(), err)


def fill(server: S3Server, home: Path) -> float:
    """The runs as guild push leaves them: runs/<id>/... and a meta-id."""
    started = time.perf_counter()
    server.make_bucket(BUCKET)
    server.aws(
        "s3", "sync", "--no-follow-symlinks", "--only-show-errors",
        str(home / "runs"), f"s3://{BUCKET}/{PREFIX}/runs/",
    )  # fmt: skip
    meta = home.parent / "meta-id"
    meta.write_text(uuid.uuid4().hex)
    server.aws("s3", "cp", "--only-show-errors", str(meta), f"s3://{BUCKET}/{PREFIX}/meta-id")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit the doc")
    args = parser.parse_args()
    guild = guild_exe()
    if guild is None:
        raise SystemExit("guild is not installed: bash scripts/setup.sh")
    promoter = str(Path(sys.executable).parent / "promoter")
    load_start = os.getloadavg()[0]
    home = generate(args.runs, seed_runs(WORK / "seed-home"))
    work = WORK / f"remote-{args.runs}"
    shutil.rmtree(work, ignore_errors=True)
    project = work / "project"
    project.mkdir(parents=True)
    (project / ".promoter.yml").write_text(
        f"source: {{remote: {REMOTE}}}\nselect: {{objective: max val_acc}}\n"
    )
    config = write_guild_config(
        work / "guild-config.yml", {REMOTE: {"type": "s3", "bucket": BUCKET, "root": PREFIX}}
    )
    with s3_server(work / "s3") as server:
        filled = fill(server, home)
        print(f"filled the remote with {args.runs} runs in {filled:.0f} s", flush=True)
        cache = work / "cache"
        env = {**os.environ, **server.env, "GUILD_CONFIG": str(config)}
        env["PROMOTER_CACHE_DIR"] = str(cache)
        env["GUILD_HOME"] = str(work / "empty-guild-home")
        Path(env["GUILD_HOME"]).mkdir()
        ours = [promoter, "-v", "select", "--json"]
        cold: list[Run] = []
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(run(ours, env, project))
            print(f"promoter cold {cold[-1].seconds:.2f} s", flush=True)
        warm = [run(ours, env, project) for _ in range(args.repeat)]
        print(f"promoter warm {statistics.median(r.seconds for r in warm):.2f} s", flush=True)
        traffic = TRAFFIC.search(cold[0].err)
        winner = json.loads(cold[0].out)["winner"]
        assert all(json.loads(r.out)["winner"] == winner for r in (*cold, *warm))

        pull_home = work / "pulled-guild-home"
        pull_home.mkdir()
        peer_env = {**guild_env(pull_home), **server.env, "GUILD_CONFIG": str(config)}
        pull = run([guild, "pull", REMOTE, "-y"], peer_env, project)
        print(f"guild pull {pull.seconds:.0f} s", flush=True)
        select = run([guild, "select", "--max", "val_acc", "-Sc"], peer_env, project)
        pulled = len(os.listdir(pull_home / "runs"))
    same = select.out.strip() == winner
    print(f"guild select {select.seconds:.2f} s; winner {select.out.strip()} (ours {winner})")
    if not same or pulled != args.runs:
        raise SystemExit(f"disagree: pulled {pulled} runs, guild {select.out!r}, ours {winner}")
    load = f"{load_start:.1f} and {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    section = render(args, cold, warm, pull, select, traffic, filled, load)
    print(section)
    if not args.no_write:
        update_section("bench_select_remote", section)


def render(
    args: argparse.Namespace,
    cold: list[Run],
    warm: list[Run],
    pull: Run,
    select: Run,
    traffic: re.Match[str] | None,
    filled: float,
    load: str,
) -> str:
    def cell(runs: list[Run]) -> str:
        seconds = [r.seconds for r in runs]
        return f"{statistics.median(seconds):.2f} s ({min(seconds):.2f})"

    def peak(runs: list[Run]) -> str:
        return f"{max(r.peak_mb for r in runs):.0f} MB"

    peer = pull.seconds + select.seconds
    cold_s = statistics.median(r.seconds for r in cold)
    objects = (
        f"{traffic[1]} objects ({int(traffic[2]) / 1e6:.1f} MB) and {traffic[3]} listing pages"
        if traffic
        else "see -v"
    )
    return "\n".join(
        [
            "<!-- bench_select_remote:begin -->",
            f"## `promoter select` on a Guild remote on S3 vs `guild pull` + `guild select` ({args.runs} runs)",  # noqa: E501
            "",
            f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d}. S3: moto's "
            "`moto_server` on loopback, on the same machine (it takes most of the time on both "
            f"sides: ~3 ms of its CPU per request). The remote holds {args.runs} runs of the "
            "test project (bench_select's runs, 29 objects each: source, attributes, events, "
            f"a small model), put there in {filled:.0f} s by one `aws s3 sync` plus a "
            "`meta-id`, the layout `guild push` writes.",
            "",
            "| | wall time, median (best) | peak memory | winner |",
            "|---|---|---|---|",
            f"| promoter select, cold (empty cache, {args.repeat} runs) | {cell(cold)} | "
            f"{peak(cold)} | same |",
            f"| promoter select, warm (meta-id unchanged, {args.repeat} runs) | {cell(warm)} | "
            f"{peak(warm)} | same |",
            f"| guild pull (every run, into an empty Guild home; once) | {pull.seconds:.0f} s | "
            f"{pull.peak_mb:.0f} MB | |",
            f"| then guild select --max val_acc -Sc | {select.seconds:.2f} s | "
            f"{select.peak_mb:.0f} MB | same |",
            "",
            f"Cold, promoter fetched {objects}: the listing of `runs/` and, per run, the opref, "
            "the listing attributes and the events file; no model, no source file. Warm, it "
            "reads `meta-id` (one GET) and its cached listing. The peer's "
            f"{peer:.0f} s (pull + select) is **{peer / cold_s:.0f}x** promoter's cold select. "
            "`guild pull` first syncs every run's attributes (`aws s3 sync` with filters), then "
            "runs one `aws s3 sync` process per run; its warm counterpart (a second pull with "
            "nothing new, then `guild select`) was not measured. "
            f"Load average (1 min) at the start and the end: {load}.",
            "",
            "Reproduce: `python benchmarks/bench_select_remote.py` (about an hour, mostly the "
            "peer).",
            "<!-- bench_select_remote:end -->",
        ]
    )


if __name__ == "__main__":
    main()
