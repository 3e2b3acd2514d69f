"""action.yml, the code and README agree: every input is declared, read and documented."""

from __future__ import annotations

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


def test_outputs_are_the_ones_the_entrypoint_writes():
    from promoter.hosts.github_actions import host as action

    source = Path(action.__file__).read_text()
    for name in ACTION["outputs"]:
        assert f'"{name}"' in source, name
