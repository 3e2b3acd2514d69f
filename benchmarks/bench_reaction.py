"""Benchmark: time from process start to the bot's first reaction (👀) on a ``/promote`` comment.

The action's process (``promoter event``, as the container runs it) is started fresh each time,
imports included, against the fake GitHub server of the tests on loopback; the clock stops
when the server receives ``POST .../reactions``. Also reported: the same with the comment
ignored (an edit: the bot's whole job is to decide to do nothing), and Python's own start.

    python benchmarks/bench_reaction.py [--repeat 15] [--no-docs]
"""

from __future__ import annotations

import argparse
import json
import os
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
from tests.fakegithub import Comment, FakeGitHub  # noqa: E402

REPO = "acme/churn-model"
TARGET_S = 1.0


def _event(work: Path, action: str) -> Path:
    payload = {
        "action": action,
        "issue": {"number": 1, "title": "Model quality", "pull_request": {"url": "https://x/1"}},
        "comment": {"id": 77, "body": "/promote help", "user": {"login": "octocat"}},
        "repository": {"full_name": REPO},
    }
    path = work / f"event-{action}.json"
    path.write_text(json.dumps(payload))
    return path


def _env(server: FakeGitHub, work: Path, event: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env |= {
        "GITHUB_EVENT_NAME": "issue_comment",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_API_URL": server.url,
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_OUTPUT": str(work / "out"),
        "GITHUB_STEP_SUMMARY": str(work / "summary"),
        "INPUT_TOKEN": "t",
        "INPUT_GUILD-HOME": str(work / "guild-home"),
        "PROMOTER_GITHUB_PACING": "0",
    }
    return env


def time_to_reaction(server: FakeGitHub, env: dict[str, str], work: Path) -> float:
    """Seconds from spawning ``promoter event`` to the server seeing the reaction."""
    server.clear_requests()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "event"],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = None
    while seen is None:
        if server.calls("POST", r"/reactions$"):
            seen = time.perf_counter() - started
        elif proc.poll() is not None and not server.calls("POST", r"/reactions$"):
            raise RuntimeError(f"promoter exited {proc.returncode} without reacting")
        else:
            time.sleep(0.0005)
    proc.wait(timeout=60)
    return seen


def time_process(cmd: list[str], env: dict[str, str], work: Path) -> float:
    """Seconds for a whole command."""
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=work, check=False, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-reaction-"))
    (work / "guild-home").mkdir()
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    with FakeGitHub() as server:
        server.state.add_repo(REPO)
        server.state.set_permission(REPO, "octocat", "admin")
        server.state.add_issue(REPO, "Model quality")
        server.state.repo(REPO).comments[77] = Comment(77, 1, "octocat", "/promote help")
        created = _env(server, work, _event(work, "created"))
        edited = _env(server, work, _event(work, "edited"))
        python = [time_process([sys.executable, "-c", "pass"], created, work)]
        reaction, ignored = [], []
        time_to_reaction(server, created, work)  # warm the page cache once
        for _ in range(args.repeat):
            reaction.append(time_to_reaction(server, created, work))
            ignored.append(time_process([sys.executable, "-m", "promoter", "event"], edited, work))
            python.append(time_process([sys.executable, "-c", "pass"], created, work))
    shutil.rmtree(work, ignore_errors=True)
    rows = [
        ("process start to first reaction (👀)", reaction),
        ("a whole run that ignores the comment (an edit)", ignored),
        ("python -c pass (the floor)", python),
    ]
    lines = [
        f"{name}: median {statistics.median(v):.3f} s, best {min(v):.3f} s" for name, v in rows
    ]
    print("\n".join(lines))
    if not args.no_docs:
        update_section("bench_reaction", _section(rows, args.repeat))


def _section(rows: list[tuple[str, list[float]]], repeat: int) -> str:
    median = statistics.median(rows[0][1])
    verdict = "met" if median < TARGET_S else "NOT met"
    table = "\n".join(
        f"| {name} | {statistics.median(v):.3f} s | {min(v):.3f} s | {max(v):.3f} s |"
        for name, v in rows
    )
    return f"""<!-- bench_reaction:begin -->
## Slash command: process start to the first reaction

Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d}.

Method: `python -m promoter event` started fresh {repeat} times (after one warm-up) with the
environment of a `/promote help` comment, against the tests' fake GitHub on loopback; the clock
runs from spawning the process to the server receiving `POST .../reactions`. PyGithub is
imported when the forge is made; dvc and matplotlib are never imported on this path.

| measured | median | best | worst |
|---|---:|---:|---:|
{table}

Target: under {TARGET_S:.1f} s to the first reaction: **{verdict}** (median {median:.3f} s).

Reproduce: `.venv/bin/python benchmarks/bench_reaction.py`.
<!-- bench_reaction:end -->"""


if __name__ == "__main__":
    main()
