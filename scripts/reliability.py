"""Run the fault suite and the tests behind each trust rule, and write docs/reliability.md.

    python scripts/reliability.py            # after scripts/setup.sh; ~10 min on 2 cores
    python scripts/reliability.py --out -    # print instead of writing the file

Every figure in the document comes from this run: the tests that passed, and what the fault
suite's tests counted through their ``ledger`` (tests/ledger.py): cases, faults injected,
duplicates and lost data they measured. Nothing in the document is typed by hand but the
prose below.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from tests.ledger import PROMISES, entries  # noqa: E402

FAULT_SUITE = [
    "tests/test_faults.py",
    "tests/test_forge_faults.py",
    "tests/test_command_matrix.py",
    "tests/test_hostile_paths.py",
    "tests/test_workflows.py",
]
ALSO = [
    "tests/test_trust.py",
    "tests/test_promote.py",
    "tests/test_action.py",
    "tests/test_render.py",
    "tests/test_planner.py",
    "tests/test_merge_plan.py",
    "tests/test_git_auth.py",
]
# promise -> (where it is promised, the tests that prove it: node id globs)
SOURCES: dict[str, tuple[str, list[str]]] = {
    "one-pr": (
        "SPEC: One PR per op, updated in place",
        [
            "tests/test_promote.py::test_full_promotion_then_rerun_is_unchanged",
            "tests/test_promote.py::test_a_better_run_updates_the_open_pr*",
            "tests/test_promote.py::test_an_open_pr_whose_run_no_longer_wins*",
            "tests/test_action.py::test_nightly_opens_then_updates*",
            "tests/test_action.py::test_a_better_run_replaces*",
            "tests/test_planner.py::*",
            "tests/test_trust.py::test_two_promotions_at_once*",
            "tests/test_faults.py::test_two_promotions_at_once*",
        ],
    ),
    "human-commits": (
        "SPEC: Never overwrite a human's commits; issue 11 items 3 and 7",
        [
            "tests/test_promote.py::test_commits_by_someone_else*",
            "tests/test_trust.py::test_a_pr_promoter_did_not_open*",
            "tests/test_trust.py::test_update_branch_does_not_block*",
            "tests/test_faults.py::test_a_human_s_pr*",
        ],
    ),
    "provenance": (
        "SPEC: Provenance guards",
        [
            "tests/test_action.py::test_dispatch_with_a_run_id",
            "tests/test_promote.py::test_failed_dvc_push*",
            "tests/test_promote.py::test_verify_names_what_the_remote_lacks",
            "tests/test_faults.py::test_a_kill*",
            "tests/test_faults.py::test_kills*",
        ],
    ),
    "private": ("SPEC: Private stays private", ["tests/test_action.py::test_nightly_opens*"]),
    "limits": (
        "SPEC: Limits of the forge",
        [
            "tests/test_render.py::test_long_tables_fold*",
            "tests/test_render.py::test_compact_body*",
            "tests/test_render.py::test_a_body_too_long*",
        ],
    ),
    "no-side-effects": (
        "SPEC: Nothing is pushed as a side effect",
        [
            "tests/test_promote.py::test_dry_run_pushes_and_opens_nothing",
            "tests/test_promote.py::test_render_prints_the_body_without_writing",
            "tests/test_action.py::test_slash_help_compare_and_dry_run",
        ],
    ),
    "automation": (
        "SPEC: A run cannot change how the repository is run; issue 11 items 1 and 5",
        [
            "tests/test_hostile_paths.py::*",
            "tests/test_merge_plan.py::test_a_run_cannot_change*",
            "tests/test_trust.py::test_a_run_that_would_change*",
            "tests/test_trust.py::test_merge_allow*",
            "tests/test_trust.py::test_the_refusal_names_the_rule",
            "tests/test_trust.py::test_a_broken_template*",
            "tests/test_trust.py::test_a_relative_remote*",
            "tests/test_trust.py::test_a_missing_relative_remote*",
        ],
    ),
    "declined": (
        "SPEC: A closed promotion PR means 'not this run'; issue 11 item 6",
        [
            "tests/test_trust.py::test_a_closed_promotion*",
            "tests/test_faults.py::test_a_human_s_pr*",
            "tests/test_render.py::test_the_footer*",
        ],
    ),
    "converge": (
        "SPEC: Converge, whatever was interrupted; issue 11 item 2",
        [
            "tests/test_faults.py::test_a_kill*",
            "tests/test_faults.py::test_kills*",
            "tests/test_trust.py::test_worktrees_of_dead*",
            "tests/test_trust.py::test_an_unchanged_run_puts_back*",
        ],
    ),
    "commands": (
        "SPEC: Commands run from pull request conversations; issue 11 item 6",
        [
            "tests/test_command_matrix.py::*",
            "tests/test_action.py::test_a_read_only_user*",
            "tests/test_action.py::test_a_command_on_a_plain_issue*",
            "tests/test_action.py::test_bot_comments*",
        ],
    ),
    "retries": (
        "Issue 11 item 4; README (GitHub: API errors)",
        [
            "tests/test_forge_faults.py::*",
            "tests/test_action.py::test_a_502*",
            "tests/test_action.py::test_bad_credentials*",
        ],
    ),
    "human": ("Issue 11 item 7", ["tests/test_faults.py::test_a_human_s_pr*"]),
    "tokens": ("Issue 11 item 8", ["tests/test_git_auth.py::*"]),
    "workflows": ("Issue 11 item 9", ["tests/test_workflows.py::*"]),
}
LIMITS = """\
- Git over HTTP gives up below 1 KB/s for 60 s (`GIT_HTTP_LOW_SPEED_LIMIT`/`_TIME`, which
  a workflow may set itself); git over SSH relies on SSH's own keep-alives.
- DVC's transfers use DVC's own retries and timeouts (boto's for S3).
- One GitHub API call gives up after at most {worst:.0f} s with the defaults ({attempts}
  attempts of a {timeout} s connect and a {timeout} s read timeout, {retries} waits of at most
  {wait:.0f} s); the suite proves the mechanism with 1 s timeouts.
- Kills are SIGKILL of promoter's whole process group, right after a step took effect; a kill
  in the middle of `dvc push` relies on DVC's atomic object writes, and one in the middle of
  `git push` on the remote's atomic ref update (not injected here).
"""


@dataclass
class Result:
    nodeid: str
    passed: bool = True
    seconds: float = 0.0
    ledger: list[dict[str, Any]] = field(default_factory=list)


class Collector:
    """A pytest plugin keeping each test's outcome, time and ledger entries."""

    def __init__(self) -> None:
        self.results: dict[str, Result] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.results.setdefault(report.nodeid, Result(report.nodeid))
        result.seconds += report.duration
        if report.failed:
            result.passed = False
        if report.when == "call":
            result.ledger = entries(report.user_properties)
        if report.when == "setup" and report.skipped:
            result.passed = False


def run(extra: list[str]) -> tuple[Collector, float, int]:
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    collector = Collector()
    started = time.monotonic()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *FAULT_SUITE, *ALSO, *extra], [collector])
    return collector, time.monotonic() - started, int(code)


def _matches(nodeid: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(nodeid, p) for p in patterns)


def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "absent"
    return out.strip().splitlines()[0] if out.strip() else "absent"


def render(collector: Collector, wall: float) -> str:
    from promoter.forges.github import GitHubSettings

    results = list(collector.results.values())
    ledgered = [e for r in results for e in r.ledger]
    suite = [r for r in results if r.nodeid.split("::")[0] in FAULT_SUITE]
    counted = {r.nodeid for r in results if r.ledger}
    total_cases = sum(e["cases"] for e in ledgered)
    total_cases += sum(
        1 for r in results if r.nodeid not in counted and _matches(r.nodeid, _all_patterns())
    )
    settings = GitHubSettings(repository="o/r", token="-")  # noqa: S106 - the defaults only
    attempts = settings.retries + 1
    worst = attempts * 2 * settings.timeout + settings.retries * settings.longest_wait
    dvc = _version([str(Path(sys.executable).with_name("dvc")), "--version"])
    lines = [
        "# Reliability: the trust rules under faults",
        "",
        "Generated by `python scripts/reliability.py` from one run of the fault suite and of the",
        "tests behind each rule; do not edit by hand, run the script again.",
        "",
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {_version(['git', '--version'])}, dvc {dvc}.",
        "",
        "## Figures",
        "",
        "| | |",
        "|---|---|",
        f"| tests run / passed | {len(results)} / {sum(r.passed for r in results)} |",
        f"| cases run | {total_cases} |",
        f"| faults injected | {sum(e['faults'] for e in ledgered)} |",
        "| duplicates found (PRs, branches, comments) | "
        f"{sum(e['duplicates'] for e in ledgered)} |",
        f"| data lost (a branch or PR whose model the DVC remote lacks) | "
        f"{sum(e['lost'] for e in ledgered)} |",
        f"| fault suite time ({len(FAULT_SUITE)} files, {len(suite)} tests; the shared "
        f"Guild runs, made by its first test, included) | {sum(r.seconds for r in suite):.0f} s |",
        f"| whole run, with the shared Guild runs made once | {wall:.0f} s |",
        "",
        "A test counts as one case unless it tries several: the fault suite counts each kill,",
        "each forge fault, each comment of the permission matrix and each hostile path.",
        "",
        "## The promises",
        "",
        "| promise | where | tests passed | cases | faults | duplicates | lost | held |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, title in PROMISES.items():
        where, patterns = SOURCES[key]
        mine = [r for r in results if _matches(r.nodeid, patterns)]
        # A test's entries for this promise, else all it counted (the kills measure the
        # model in the remote too), else the test is one case.
        own = [e for r in mine for e in _entries_for(r, key)]
        cases = sum(e["cases"] for e in own) + sum(1 for r in mine if not r.ledger)
        held = "yes" if mine and all(r.passed for r in mine) else "**no**"
        lines.append(
            f"| {title} | {where} | {sum(r.passed for r in mine)}/{len(mine)} | {cases} | "
            f"{sum(e['faults'] for e in own)} | {sum(e['duplicates'] for e in own)} | "
            f"{sum(e['lost'] for e in own)} | {held} |"
        )
    lines += ["", "## What was tried", "", *_tried()]
    lines += [
        "",
        "## What the job outputs under each forge fault",
        "",
        "`promoter event` against the fake GitHub (decision output, exit code, annotations):",
        "",
        "| fault | decision | exit | annotation |",
        "|---|---|---|---|",
    ]
    for e in ledgered:
        for row in e["outcomes"]:
            lines.append(
                f"| {row['fault']} | {row['decision']} | {row['exit']} | {row['annotation']} |"
            )
    failed = [r.nodeid for r in results if not r.passed]
    if failed:
        lines += ["", "## Failed in this run", "", *[f"- `{n}`" for n in failed]]
    lines += [
        "",
        "## Limits",
        "",
        LIMITS.format(
            worst=worst,
            attempts=attempts,
            timeout=settings.timeout,
            retries=settings.retries,
            wait=settings.longest_wait,
        ).rstrip(),
        "",
        "## Run it again",
        "",
        "```bash",
        "bash scripts/setup.sh",
        ". .venv/bin/activate",
        "python scripts/reliability.py                 # this document",
        "python -m pytest " + " ".join(FAULT_SUITE) + "   # the fault suite alone",
        "```",
        "",
    ]
    return "\n".join(lines)


def _entries_for(result: Result, promise: str) -> list[dict[str, Any]]:
    return [e for e in result.ledger if e["promise"] == promise] or result.ledger


def _all_patterns() -> list[str]:
    return [p for _, patterns in SOURCES.values() for p in patterns]


def _tried() -> list[str]:
    """The cases, by name, from the tests' own tables."""
    from tests import test_command_matrix as matrix
    from tests import test_faults as faults
    from tests import test_forge_faults as forge
    from tests import test_hostile_paths as paths

    def names(items: Any) -> str:
        return ", ".join(f"`{_shown(str(i))}`" for i in items)

    return [
        f"- **Kills** (SIGKILL of promoter's process group, then a plain re-run): "
        f"{names(faults.TOOL_KILLS)}; after each forge write: {names(faults.API_KILLS)}.",
        "- **At once**: two `promoter promote` and one `promoter event` started together.",
        f"- **Forge faults, recovered**: {names(forge.RECOVERED)}; **failing the job**: "
        f"{names(forge.FAILED)}; **on the reply to a command**: {names(forge.REPLY_FAULTS)}; "
        "an answer lost after the PR was created; a 422 on create and 5xx on every labels "
        "request, each finished by the next run.",
        f"- **Commands**: roles {names(matrix.PEOPLE)} for `min_permission` write, triage and "
        "admin; bots by type and by name, edits, deletes, payloads that lie about "
        "`author_association`, plain issues with `commands.on_issues` off and on.",
        f"- **Paths** ({len(paths.CORPUS)} in the table, refused, skipped or harmless): "
        f"{names(sorted(paths.CORPUS))}; symlinks to outside the run, to the project's "
        "`.git`, relative escapes and linked directories; a file where the project has a "
        "directory, and under a file.",
    ]


def _shown(text: str) -> str:
    """A name as inert ASCII (escapes for invisible and lookalike characters), shortened."""
    shown = ascii(text)[1:-1].replace("`", "'").replace("|", "\\|")
    if len(shown) > 48:
        shown = f"{shown[:24]}... ({len(text.encode())} bytes)"
    return shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "reliability.md"))
    args, extra = parser.parse_known_args()
    collector, wall, code = run(extra)
    text = render(collector, wall)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
