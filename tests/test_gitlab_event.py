"""GitLab CI's variables and webhook payloads into one neutral trigger, and what the job reads
back (dotenv, log sections): pure functions, in milliseconds. GitLab's documented note payloads
in ../shared/fixtures/gitlab are read when present."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from promoter.errors import UsageError
from promoter.hosts.github_actions.host import GitHubActions
from promoter.hosts.gitlab_ci import job_io
from promoter.hosts.gitlab_ci.event import (
    NO_SOURCE,
    NOT_A_NOTE,
    OTHER_PROJECT,
    SYSTEM_NOTE,
    Variables,
    load_payload,
    read_trigger,
    variables,
)
from promoter.hosts.gitlab_ci.host import GitLabCi, dotenv_path
from promoter.hosts.registry import detect_host
from promoter.triggers.events import TriggerKind
from promoter.triggers.result import TriggerResult
from tests.conftest import SHARED_FIXTURES

GITLAB_EVENTS = SHARED_FIXTURES / "gitlab" / "events"
RUN = "0123abcd" * 4


def shared(name: str) -> dict:
    path = GITLAB_EVENTS / name
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    return json.loads(path.read_text())


def env(source: str, **extra: str) -> dict[str, str]:
    return {"CI_PIPELINE_SOURCE": source, "CI_PROJECT_ID": "5", **extra}


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("schedule", TriggerKind.SCHEDULE),
        ("web", TriggerKind.DISPATCH),
        ("api", TriggerKind.DISPATCH),
        ("pipeline", TriggerKind.DISPATCH),
        ("trigger", TriggerKind.DISPATCH),
    ],
)
def test_sources_route_as_spec_says(source: str, kind: TriggerKind) -> None:
    given = Variables(run=RUN, dry_run=True, objective="min loss")
    trigger = read_trigger(
        env(source, GITLAB_USER_LOGIN="alice", CI_JOB_URL="https://g/j/1"), given
    )
    assert (trigger.kind, trigger.event, trigger.ignored) == (kind, source, None)
    assert (trigger.run, trigger.dry_run, trigger.objective) == (RUN, True, "min loss")
    assert (trigger.actor, trigger.run_url) == ("alice", "https://g/j/1")


@pytest.mark.parametrize("source", ["merge_request_event", "parent_pipeline", "webide"])
def test_other_sources_are_ignored_with_a_reason(source: str) -> None:
    trigger = read_trigger(env(source), Variables())
    assert trigger.kind is TriggerKind.OTHER
    assert trigger.ignored is not None and repr(source) in trigger.ignored


SHA_A, SHA_B = "a" * 40, "B" * 40


@pytest.mark.parametrize(
    ("extra", "ref", "before", "after"),
    [
        ({"CI_COMMIT_BRANCH": "main"}, "refs/heads/main", SHA_A, SHA_B.lower()),
        ({"CI_COMMIT_TAG": "train@v0.1.0"}, "refs/tags/train@v0.1.0", SHA_A, SHA_B.lower()),
        (
            {"CI_COMMIT_BEFORE_SHA": "0" * 40, "CI_COMMIT_BRANCH": "x"},
            "refs/heads/x",
            "0" * 40,
            SHA_B.lower(),
        ),
        ({"CI_COMMIT_BEFORE_SHA": "", "CI_COMMIT_SHA": ""}, "", None, None),
    ],
)
def test_a_push_pipeline_is_a_push(extra: dict[str, str], ref: str, before, after) -> None:
    given = {"CI_COMMIT_BEFORE_SHA": SHA_A, "CI_COMMIT_SHA": SHA_B} | extra
    trigger = read_trigger(env("push", **given), Variables())
    assert (trigger.kind, trigger.ignored) == (TriggerKind.PUSH, None)
    assert trigger.push is not None
    assert (trigger.push.ref, trigger.push.before, trigger.push.after) == (ref, before, after)


def test_a_push_commit_that_is_no_commit_id_is_a_usage_error() -> None:
    bad = env("push", CI_COMMIT_BRANCH="main", CI_COMMIT_SHA="$(id)")
    with pytest.raises(UsageError, match="CI_COMMIT_SHA"):
        read_trigger(bad, Variables())


def test_no_source_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=NO_SOURCE):
        read_trigger({}, Variables())


def test_gitlabs_documented_note_on_a_merge_request(tmp_path: Path) -> None:
    payload = shared("note_merge_request.json")
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    trigger = read_trigger(env("trigger", TRIGGER_PAYLOAD=str(path)), Variables())
    comment = trigger.comment
    assert (trigger.kind, trigger.event, trigger.ignored) == (
        TriggerKind.COMMENT,
        "trigger:note",
        None,
    )
    assert comment is not None
    # noteable_id (7) is the MR's global id; replies and award emoji take its iid (1).
    assert (comment.ref.number, comment.ref.comment_id) == (1, 1244)
    assert comment.ref.on_pull_request and comment.on_pull_request
    assert (comment.author, comment.body, comment.action) == (
        "root",
        "This MR needs work.",
        "created",
    )
    assert comment.url == payload["object_attributes"]["url"]


def test_gitlabs_documented_note_on_an_issue(tmp_path: Path) -> None:
    payload = shared("note_issue.json")
    trigger = read_trigger(
        env("trigger", TRIGGER_PAYLOAD=json.dumps(payload), CI_PROJECT_ID=""), Variables()
    )
    comment = trigger.comment
    assert comment is not None and trigger.ignored is None
    assert not comment.on_pull_request and not comment.ref.on_pull_request
    assert comment.ref.number == payload["issue"]["iid"]


@pytest.mark.parametrize("name", ["merge_request.json", "pipeline.json"])
def test_gitlabs_other_webhooks_are_not_commands(name: str) -> None:
    payload = shared(name)
    trigger = read_trigger(env("trigger", TRIGGER_PAYLOAD=json.dumps(payload)), Variables())
    assert trigger.ignored == NOT_A_NOTE.format(kind=payload["object_kind"])


def note(**attributes: object) -> str:
    payload = {
        "object_kind": "note",
        "user": {"username": "alice"},
        "project": {"id": 5},
        "object_attributes": {"id": 9, "note": "/promote", "noteable_type": "MergeRequest"}
        | attributes,
        "merge_request": {"iid": 3},
    }
    return json.dumps(payload)


def test_notes_that_are_no_commands_say_why() -> None:
    def ignored(payload: str, **extra: str) -> str | None:
        return read_trigger(env("trigger", TRIGGER_PAYLOAD=payload, **extra), Variables()).ignored

    assert ignored(note(system=True)) == SYSTEM_NOTE
    assert ignored(note(noteable_type="Snippet")) == (
        "the note is on a snippet, and commands are read in merge requests only"
    )
    assert ignored(note(), CI_PROJECT_ID="6") == OTHER_PROJECT.format(theirs=5, ours=6)
    edited = read_trigger(env("trigger", TRIGGER_PAYLOAD=note(action="update")), Variables())
    assert edited.comment is not None and edited.comment.action == "edited"
    old = read_trigger(env("trigger", TRIGGER_PAYLOAD=note(action=None)), Variables())
    assert old.comment is not None and old.comment.action == "created"  # GitLab before 16.11


def test_broken_payloads_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"object_attributes\.id"):
        read_trigger(env("trigger", TRIGGER_PAYLOAD=note(id="9")), Variables())
    with pytest.raises(UsageError, match="not JSON"):
        load_payload("{nope")
    with pytest.raises(UsageError, match="not a JSON object"):
        load_payload(str(_file(tmp_path, "[1]")))
    with pytest.raises(UsageError, match="TRIGGER_PAYLOAD"):
        load_payload(str(tmp_path))  # a directory
    assert load_payload(str(tmp_path / "missing.json")) is None
    assert load_payload(str(_file(tmp_path, " \n"))) is None
    assert load_payload("") is None


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"p{len(list(tmp_path.iterdir()))}.json"
    path.write_text(text)
    return path


def test_variables_are_validated() -> None:
    given = variables(
        {
            "PROMOTER_RUN": " 0123ABCD ",
            "PROMOTER_DRY_RUN": "TRUE",
            "PROMOTER_OBJECTIVE": "min loss",
            "PROMOTER_CONFIG": "ml/.promoter.yml",
            "PROMOTER_GUILD_HOME": "/runs",
        }
    )
    assert given == Variables("0123abcd", True, "min loss", "ml/.promoter.yml", "/runs")
    assert variables({"PROMOTER_DRY_RUN": "false"}) == Variables()
    with pytest.raises(UsageError, match="PROMOTER_RUN 'main;ls' is not a run id"):
        variables({"PROMOTER_RUN": "main;ls"})
    with pytest.raises(UsageError, match="PROMOTER_DRY_RUN 'maybe'"):
        variables({"PROMOTER_DRY_RUN": "maybe"})
    with pytest.raises(UsageError, match="longer than 200"):
        variables({"PROMOTER_OBJECTIVE": "x" * 201})


def test_dotenv_is_what_gitlab_takes() -> None:
    text = job_io.format_dotenv({"A": "1", "B": 'x\ny {"k":"v"} ', "EMPTY": ""})
    assert text == 'A=1\nB=x y {"k":"v"}\nEMPTY=\n'
    with pytest.raises(ValueError, match="letters"):
        job_io.format_dotenv({"run-id": "x"})
    with pytest.raises(ValueError, match="5120 bytes"):
        job_io.format_dotenv({"A": "x" * 6000})


def test_log_sections_and_untrusted_text() -> None:
    text = job_io.section("body", "The body", "line\x1b[31mred\rback\n", 1700000000)
    assert text.startswith(
        "\x1b[0Ksection_start:1700000000:body[collapsed=true]\r\x1b[0KThe body\n"
    )
    assert "line\\x1b[31mred\\x0dback\n" in text
    assert text.endswith("\x1b[0Ksection_end:1700000000:body\r\x1b[0K\n")
    assert job_io.one_line("a\r\nb\x1bc") == "a b\\x1bc"
    with pytest.raises(ValueError):
        job_io.section_start("a b", "x", 0)
    with pytest.raises(ValueError):
        job_io.section_end("a:b", 0)


def test_gitlab_ci_is_detected_and_writes_its_report(tmp_path: Path) -> None:
    out = io.StringIO()
    assert isinstance(detect_host({"GITLAB_CI": "true"}, out), GitLabCi)
    assert isinstance(detect_host({"GITHUB_ACTIONS": "true"}, out), GitHubActions)
    host = GitLabCi({"CI_PROJECT_DIR": str(tmp_path), "PROMOTER_DOTENV": "out/p.env"}, out)
    assert dotenv_path(host.env) == tmp_path / "out" / "p.env"
    host.begin()
    host.succeed(TriggerResult("ignored", "pipeline source 'push'\x1b[2K is not one"))
    report = (tmp_path / "out" / "p.env").read_text()
    assert report.startswith("PROMOTER_DECISION=ignored\nPROMOTER_RUN_ID=\n")
    assert "PROMOTER_MODEL_MD5={}\n" in report
    log = out.getvalue()
    assert "section_start" in log and "section_end" in log
    assert log.endswith("promoter: ignored: pipeline source 'push'\\x1b[2K is not one\n")
    assert dotenv_path({"CI_PROJECT_DIR": str(tmp_path)}) == tmp_path / "promoter.env"
