"""The hosted-runner workflow example: ubuntu-latest, runs from the S3 remote, credentials
by OIDC (or secrets), and the same triggers and permissions as the self-hosted example."""

from __future__ import annotations

from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "github"


def _load(name: str) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load((EXAMPLES / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on:` as true
    return data


def test_the_hosted_example_needs_nothing_on_the_runner() -> None:
    hosted, self_hosted = _load("promote-hosted.yml"), _load("promote.yml")
    job = hosted["jobs"]["promote"]
    assert job["runs-on"] == "ubuntu-latest"
    assert hosted["permissions"]["id-token"] == "write"
    assert hosted["on"] == self_hosted["on"]
    assert {k: v for k, v in hosted["permissions"].items() if k != "id-token"} == self_hosted[
        "permissions"
    ]
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    promoter = next(s for s in job["steps"] if s.get("uses", "").endswith("/promoter@v1"))
    assert "guild-home" not in promoter["with"]
    text = (EXAMPLES / "promote-hosted.yml").read_text()
    assert "source: {remote:" in text and "AWS_SECRET_ACCESS_KEY" in text
