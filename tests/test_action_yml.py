"""action.yml, the code and README agree: every input is declared, read and documented."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from promoter.hosts.github_actions.runner_io import INPUT_NAMES

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
README = (ROOT / "README.md").read_text()


def test_every_input_is_declared_and_read():
    assert tuple(ACTION["inputs"]) == INPUT_NAMES


def test_every_input_and_output_is_documented_in_readme():
    for name in (*ACTION["inputs"], *ACTION["outputs"]):
        assert f"`{name}`" in README, name


def test_the_action_is_a_docker_action_built_from_the_dockerfile():
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert (ROOT / "Dockerfile").is_file()


def test_outputs_are_the_ones_the_action_writes(tmp_path):
    """Every output action.yml declares is written, and nothing else: read back from the
    GITHUB_OUTPUT file the way the runner reads it."""
    import io

    from promoter.hosts.github_actions.host import GitHubActions
    from promoter.promotion.promote import Outcome, PromoteResult
    from promoter.triggers.result import TriggerResult
    from tests.promotion import read_output_file

    output = tmp_path / "output"
    host = GitHubActions({"GITHUB_OUTPUT": str(output), "INPUT_TOKEN": "t"}, io.StringIO())
    host.begin()
    promoted = PromoteResult(
        Outcome.PROMOTED,
        "run a beats b",
        "a" * 32,
        "promote/train",
        7,
        "https://x/pull/7",
        {"models/m.pkl": "b" * 32},
    )
    host.succeed(TriggerResult.of([promoted]))
    written = read_output_file(output.read_text())
    assert set(written) == set(ACTION["outputs"])
    assert written["decision"] == "promoted" and written["pr-number"] == "7"
    assert json.loads(written["model-md5"]) == {"models/m.pkl": "b" * 32}
    assert json.loads(written["tracks"]) == [
        {
            "track": None,
            "decision": "promoted",
            "run-id": "a" * 32,
            "pr-number": 7,
            "pr-url": "https://x/pull/7",
        }
    ]
