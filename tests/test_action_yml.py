"""action.yml, the code and README agree: every input is declared, read and documented."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from promoter.action_io import INPUT_NAMES

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


def test_outputs_are_the_ones_the_entrypoint_writes():
    from promoter import action

    source = Path(action.__file__).read_text()
    for name in ACTION["outputs"]:
        assert f'"{name}"' in source, name
