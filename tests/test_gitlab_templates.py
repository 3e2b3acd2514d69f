"""The GitLab CI example and the CI/CD component say what the host reads and writes: the
sources it routes, the variables it takes, the dotenv report it leaves. (gitlab-ci-local runs
the example for real: scripts/container_gitlab.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from promoter.hosts.base import HISTORY_PLOT
from promoter.hosts.gitlab_ci.event import SOURCES
from promoter.hosts.gitlab_ci.host import DEFAULT_DOTENV

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "gitlab" / ".gitlab-ci.yml"
COMPONENT = ROOT / "templates" / "promoter" / "template.yml"
OUTPUTS = {
    "PROMOTER_DECISION",
    "PROMOTER_RUN_ID",
    "PROMOTER_MR_IID",
    "PROMOTER_MR_URL",
    "PROMOTER_MODEL_MD5",
    "PROMOTER_TRACKS",
    "PROMOTER_TAG",
    "PROMOTER_HISTORY_PLOT",
}


def sources_of(job: dict) -> set[str]:
    found: set[str] = set()
    for rule in job["rules"]:
        condition = rule["if"]
        found |= set(re.findall(r'\$CI_PIPELINE_SOURCE == "(\w+)"', condition))
        alternatives = re.search(r"\$CI_PIPELINE_SOURCE =~ /\^\(([\w|]+)\)\$/", condition)
        if alternatives:
            found |= set(alternatives.group(1).split("|"))
    return found


def test_the_example_routes_every_source_and_reads_the_report() -> None:
    ci = yaml.safe_load(EXAMPLE.read_text())
    base = ci[".promoter"]
    assert base["image"] == {"name": "$PROMOTER_IMAGE", "entrypoint": [""]}
    assert base["script"] == ["promoter event"]
    assert base["artifacts"]["reports"]["dotenv"] == DEFAULT_DOTENV
    assert sources_of(ci["promote"]) == {"schedule", "web", "api"}
    assert sources_of(ci["promote-command"]) == {"trigger"}
    assert sources_of(ci["register"]) == {"push"}
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in ci["register"]["rules"][0]["if"]
    assert ci["register"]["artifacts"]["paths"] == [HISTORY_PLOT]
    jobs = ("promote", "promote-command", "register")
    assert set().union(*(sources_of(ci[name]) for name in jobs)) <= set(SOURCES)
    form = {k: v for k, v in ci["variables"].items() if isinstance(v, dict)}
    assert set(form) == {"PROMOTER_RUN", "PROMOTER_DRY_RUN", "PROMOTER_OBJECTIVE"}
    assert all(v["description"] for v in form.values())
    assert ci["variables"]["GIT_DEPTH"] == "0"
    used = set(re.findall(r"\$\{?(PROMOTER_[A-Z0-9_]+)", " ".join(ci["report"]["script"])))
    assert used and used <= OUTPUTS


def test_the_component_declares_every_input_it_uses() -> None:
    spec, body = yaml.safe_load_all(COMPONENT.read_text())
    inputs = spec["spec"]["inputs"]
    used = set(re.findall(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]", COMPONENT.read_text()))
    assert used == set(inputs)
    assert {name for name, given in inputs.items() if "default" not in given} == {
        "image",
        "guild-home",
    }
    assert inputs["dotenv"]["default"] == DEFAULT_DOTENV
    (job,) = body.values()
    assert job["script"] == ["promoter event"]
    assert job["image"]["entrypoint"] == [""]
    assert sources_of(job) == set(SOURCES)
    push_rule = next(r["if"] for r in job["rules"] if '"push"' in r["if"])
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in push_rule
    assert job["artifacts"]["paths"] == [HISTORY_PLOT]
    assert "PROMOTER_TOKEN" not in COMPONENT.read_text().split("---")[1]


def test_the_component_sits_beside_the_pr_body_template() -> None:
    templates = ROOT / "templates"
    assert (templates / "pr_body.md.j2").is_symlink()
    assert (templates / "README.md").is_file()
    assert COMPONENT.is_file()
