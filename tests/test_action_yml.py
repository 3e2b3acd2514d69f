"""action.yml, the code and README agree: every input is declared, read and documented."""

from __future__ import annotations

import json
import re
import tomllib
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


def test_the_action_runs_the_published_image_of_this_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert ACTION["runs"] == {
        "using": "docker",
        "image": f"docker://ghcr.io/<owner>/promoter:v{version}",
    }
    # Pinned to a release, never a moving tag: a tag of the action runs its own image.
    assert re.fullmatch(r"docker://[^:]+:v\d+\.\d+\.\d+", ACTION["runs"]["image"])
    assert "<owner>/promoter@v" in README  # the name users write in `uses:`
    assert (ROOT / "Dockerfile").is_file()  # local builds and CI


def test_the_release_workflow_publishes_that_image_on_version_tags():
    release = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    # PyYAML reads the key `on` as True.
    assert release[True] == {"push": {"tags": ["v*"]}}
    env = release["jobs"]["image"]["env"]
    assert env["GHCR_IMAGE"] == "ghcr.io/${{ github.repository }}"
    assert "vars.PROMOTER_IMAGE" in env["IMAGE"]  # CI points it at a registry on loopback
    assert env["VERSION"] == "${{ github.ref_name }}"
    assert release["permissions"]["packages"] == "write"


def test_outputs_are_the_ones_the_action_writes(tmp_path):
    """Every output action.yml declares is written, and nothing else: read back from the
    GITHUB_OUTPUT file the way the runner reads it."""
    import io

    from promoter.hosts.github_actions.host import GitHubActions
    from promoter.promotion.outcome import Outcome, PromoteResult
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
