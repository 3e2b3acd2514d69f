"""Benchmark: time from process start to the bot's first award emoji (👀) on a ``/promote``
note in a GitLab merge request.

``promoter event`` is started fresh each time, imports included, with the variables of a
GitLab CI job that a note webhook triggered (``CI_PIPELINE_SOURCE=trigger``, the note event in
the file ``TRIGGER_PAYLOAD`` names), against the tests' fake GitLab on loopback; the clock stops
when the server receives ``POST .../notes/<id>/award_emoji``. Before it the bot only reads: who
the token is, and whether the author is a bot. Also reported: a whole run that ignores an
edited note, and Python's own start.

    python benchmarks/bench_reaction_gitlab.py [--repeat 15] [--no-docs]
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
from tests.fakegitlab import DEFAULT_TOKEN, DEVELOPER, FakeGitLab  # noqa: E402

PROJECT = "ml/churn-model"
TARGET_S = 1.0
AWARD = r"/notes/\d+/award_emoji$"


def _payload(work: Path, project_id: int, mr_iid: int, note_id: int, action: str) -> Path:
    payload = {
        "object_kind": "note",
        "user": {"username": "alice"},
        "project": {"id": project_id},
        "object_attributes": {
            "id": note_id,
            "note": "/promote help",
            "noteable_type": "MergeRequest",
            "action": action,
        },
        "merge_request": {"iid": mr_iid},
    }
    path = work / f"note-{action}.json"
    path.write_text(json.dumps(payload))
    return path


def _env(server: FakeGitLab, work: Path, project_id: int, payload: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITHUB_"))}
    env |= {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "trigger",
        "TRIGGER_PAYLOAD": str(payload),
        "CI_SERVER_URL": server.url,
        "CI_API_V4_URL": server.api_url,
        "CI_PROJECT_ID": str(project_id),
        "CI_PROJECT_PATH": PROJECT,
        "CI_PROJECT_DIR": str(work),
        "CI_JOB_URL": f"{server.url}/{PROJECT}/-/jobs/1",
        "PROMOTER_TOKEN": DEFAULT_TOKEN,
        "PROMOTER_GUILD_HOME": str(work / "guild-home"),
    }
    return env


def time_to_award(server: FakeGitLab, env: dict[str, str], work: Path) -> float:
    """Seconds from spawning ``promoter event`` to the server seeing the award emoji."""
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
        if server.calls("POST", AWARD):
            seen = time.perf_counter() - started
        elif proc.poll() is not None and not server.calls("POST", AWARD):
            raise RuntimeError(f"promoter exited {proc.returncode} without an award emoji")
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
    work = Path(tempfile.mkdtemp(prefix="bench-reaction-gitlab-"))
    (work / "guild-home").mkdir()
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    with FakeGitLab() as server:
        state = server.state
        project = state.add_project(PROJECT)
        state.set_access(project, "alice", DEVELOPER)
        mr = state.add_merge_request(project, "experiment", "main", "Model quality")
        note = state.add_note(project, mr, "/promote help", author="alice")
        created = _env(
            server, work, project.id, _payload(work, project.id, mr.iid, note.id, "create")
        )
        edited = _env(
            server, work, project.id, _payload(work, project.id, mr.iid, note.id, "update")
        )
        python = [time_process([sys.executable, "-c", "pass"], created, work)]
        award, ignored = [], []
        time_to_award(server, created, work)  # warm the page cache once
        calls = [f"{r.method} {r.route}" for r in server.calls()]
        before = calls[: next(i for i, c in enumerate(calls) if "award_emoji" in c)]
        for _ in range(args.repeat):
            note.awards.clear()
            award.append(time_to_award(server, created, work))
            ignored.append(time_process([sys.executable, "-m", "promoter", "event"], edited, work))
            python.append(time_process([sys.executable, "-c", "pass"], created, work))
    shutil.rmtree(work, ignore_errors=True)
    rows = [
        ("process start to the first award emoji (👀)", award),
        ("a whole run that ignores the note (an edit)", ignored),
        ("python -c pass (the floor)", python),
    ]
    lines = [
        f"{name}: median {statistics.median(v):.3f} s, best {min(v):.3f} s" for name, v in rows
    ]
    print("\n".join(lines))
    print("requests before the award:", ", ".join(before))
    if not args.no_docs:
        update_section("bench_reaction_gitlab", _section(rows, args.repeat, before))


def _section(rows: list[tuple[str, list[float]]], repeat: int, before: list[str]) -> str:
    median = statistics.median(rows[0][1])
    verdict = "met" if median < TARGET_S else "NOT met"
    table = "\n".join(
        f"| {name} | {statistics.median(v):.3f} s | {min(v):.3f} s | {max(v):.3f} s |"
        for name, v in rows
    )
    reads = ", ".join(f"`{r}`" for r in before)
    load = os.getloadavg()[0]
    return f"""<!-- bench_reaction_gitlab:begin -->
## GitLab note command: process start to the first award emoji

Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d}.
Load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores (other jobs ran too).

Method: `python -m promoter event` started fresh {repeat} times (after one warm-up) with the
variables of a GitLab CI job triggered by a `/promote help` note (`CI_PIPELINE_SOURCE=trigger`,
the note event in `TRIGGER_PAYLOAD`), against the tests' fake GitLab on loopback; the clock
runs from spawning the process to the server receiving `POST .../notes/<id>/award_emoji`.
python-gitlab is imported when the forge is made; dvc, matplotlib and Jinja never are on this
path. The bot reads before it writes: {reads}.

| measured | median | best | worst |
|---|---:|---:|---:|
{table}

Target: under {TARGET_S:.1f} s to the first award emoji: **{verdict}** (median {median:.3f} s).

Reproduce: `.venv/bin/python benchmarks/bench_reaction_gitlab.py`.
<!-- bench_reaction_gitlab:end -->"""


if __name__ == "__main__":
    main()
