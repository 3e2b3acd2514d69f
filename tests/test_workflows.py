"""The example workflows (and any workflow of this repository): valid against GitHub's
workflow schema (``check-jsonschema``'s vendored copy), and keeping the rules of issue 11:
job-level concurrency, a comment filter no narrower than the parser, tokens that start
workflows, the DVC remote support the credentials are for."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from promoter.triggers.commands import parse_command

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "github"


def _workflows() -> list[Path]:
    candidates = [*ROOT.glob("examples/**/*.y*ml"), *ROOT.glob(".github/workflows/*.y*ml")]
    return sorted(p for p in candidates if {"on", "jobs"} <= set(_load(p) or {}))


def _load(path: Path) -> Any:
    # YAML 1.1 reads the key `on` as True: BaseLoader keeps every key a string.
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)


def _schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[dev]')")
    command = [sys.executable, "-m", "check_jsonschema"]
    command += ["--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_examples_are_found() -> None:
    assert {p.name for p in _workflows()} >= {"promote.yml", "verify.yml"}


def test_every_workflow_matches_githubs_schema(ledger) -> None:
    entry = ledger("workflows")
    workflows = _workflows()
    done = _schema_check(*workflows)
    for _ in workflows:
        entry.case(faults=0)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path: Path, ledger) -> None:
    ledger("workflows").case()
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    assert _schema_check(broken).returncode != 0


def _promote_job() -> dict[str, Any]:
    workflow = _load(EXAMPLES / "promote.yml")
    assert "concurrency" not in workflow, "a workflow-level group lets any comment cancel"
    (job,) = workflow["jobs"].values()
    return dict(job)


def test_promote_takes_turns_at_job_level_and_never_cancels() -> None:
    job = _promote_job()
    assert job["concurrency"]["cancel-in-progress"] == "false"
    assert "github.repository" in job["concurrency"]["group"]


BODIES = [
    "/promote",
    "/promote help",
    "Looks good.\n\n/promote --dry-run",
    "> quoted earlier\n/promote 8389c56c",
    "  /promote   recreate  ",
    "thanks!\r\n/promote compare 8389 b13f",
]


@pytest.mark.parametrize("body", BODIES)
def test_the_comment_filter_lets_through_whatever_the_parser_accepts(body: str) -> None:
    condition = " ".join(_promote_job()["if"].split())
    assert "contains(github.event.comment.body, '/promote')" in condition
    assert "startsWith" not in condition
    assert parse_command(body) is not None
    assert "/promote" in body.lower()  # contains() is case-insensitive: a superset


def test_promote_pushes_and_opens_with_a_token_that_starts_workflows() -> None:
    steps = _promote_job()["steps"]
    action = next(s for s in steps if "promoter@" in s.get("uses", ""))
    assert "github.token" not in action["with"]["token"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] == "false"


def test_verify_installs_the_dvc_remote_its_credentials_are_for() -> None:
    (job,) = _load(EXAMPLES / "verify.yml")["jobs"].values()
    installs = " ".join(s.get("run", "") for s in job["steps"] if "pip install" in s.get("run", ""))
    keys = {k for s in job["steps"] for k in s.get("env", {})}
    if "AWS_ACCESS_KEY_ID" in keys:
        assert "dvc[s3]" in installs or "dvc-s3" in installs
