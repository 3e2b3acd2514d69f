"""The event object: GitHub's environment and payloads (real ones and ours) read into one value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promoter.errors import UsageError
from promoter.hosts.github_actions.event import (
    BAD_REPOSITORY,
    BAD_RUN_ID,
    BAD_URL,
    DEFAULT_API_URL,
    MISSING_KEY,
    NO_API_URL,
    NO_EVENT_NAME,
    NO_REPOSITORY,
    WRONG_TYPE,
    CommentEvent,
    Event,
    EventName,
    github_event,
    load_event_payload,
)
from promoter.hosts.github_actions.host import to_trigger
from promoter.hosts.github_actions.runner_io import ActionInputs
from promoter.triggers.commands import DEFAULT_PREFIX
from promoter.triggers.events import (
    IGNORED_ACTION,
    IGNORED_BOT,
    IGNORED_NO_COMMAND,
    should_ignore,
)
from tests.conftest import SHARED_FIXTURES

OURS = Path(__file__).parent / "data" / "events"
REAL = SHARED_FIXTURES / "github" / "events"


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return load_event_payload(str(path))


def actions_env(event: str, **extra: str) -> dict[str, str]:
    """The variables the runner sets for every step, as on github.com."""
    return {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REPOSITORY": "acme-ml/churn-model",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": "9c1b3f2a" * 5,
        "GITHUB_ACTOR": "alice-ds",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_RUN_ID": "8712345678",
        "GITHUB_RUN_ATTEMPT": "1",
        **extra,
    }


def ignored(event: Event, prefix: str = DEFAULT_PREFIX) -> str | None:
    """Why the bot ignores this GitHub event, read the way the action reads it."""
    return should_ignore(to_trigger(event, ActionInputs()), prefix)


def comment_event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "action": "created",
        "id": 1,
        "body": "/promote",
        "author": "alice-ds",
        "author_type": "User",
        "author_association": "MEMBER",
        "number": 42,
        "is_pull_request": True,
        "html_url": None,
        **changes,
    }
    return Event(
        name=EventName.ISSUE_COMMENT,
        raw_name="issue_comment",
        repository="acme-ml/churn-model",
        ref=None,
        actor="alice-ds",
        server_url="https://github.com",
        api_url=DEFAULT_API_URL,
        run_url=None,
        comment=CommentEvent(**fields),
    )


# --- real payloads (octokit/webhooks examples, reconstructed schedule) -------------------------


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("created.payload.json", "created"),
        ("created.with-organization.payload.json", "created"),
        ("edited.payload.json", "edited"),
        ("deleted.payload.json", "deleted"),
    ],
)
def test_real_issue_comments(name: str, action: str) -> None:
    payload = load(REAL / "issue_comment" / name)
    event = github_event(actions_env("issue_comment"), payload)
    assert event.name is EventName.ISSUE_COMMENT
    assert event.comment == CommentEvent(
        action=action,
        id=492700400,
        body=payload["comment"]["body"],
        author="Codertocat",
        author_type="User",
        author_association="OWNER",
        number=1,
        is_pull_request=False,
        html_url="https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400",
    )
    assert event.inputs == {}
    reason = ignored(event)
    if action == "created":
        assert reason == IGNORED_NO_COMMAND.format(prefix="/promote")
    else:
        assert reason == IGNORED_ACTION.format(action=action)


def test_real_issue_comment_on_a_pull_request() -> None:
    payload = load(REAL / "issue_comment" / "created.payload.json")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    payload["comment"]["body"] = "/promote help"
    event = github_event(actions_env("issue_comment"), payload)
    assert event.comment is not None and event.comment.is_pull_request
    assert ignored(event) is None


def test_real_workflow_dispatch() -> None:
    payload = load(REAL / "workflow_dispatch" / "payload.json")
    env = actions_env("workflow_dispatch")
    del env["GITHUB_REPOSITORY"], env["GITHUB_REF"], env["GITHUB_ACTOR"]
    event = github_event(env, payload)
    assert event.name is EventName.WORKFLOW_DISPATCH
    assert dict(event.inputs) == {"name": "Mona the Octocat"}
    # Without the variables, the payload still says where and who.
    assert event.repository == "octo-org/octo-repo"
    assert event.ref == "refs/heads/master"
    assert event.actor == "Codertocat"
    assert event.comment is None and ignored(event) is None


def test_real_schedule_before_2022() -> None:
    payload = load(REAL / "schedule" / "schedule.minimal.pre-2022.json")
    assert payload == {"schedule": "*/5 * * * *"}
    event = github_event(actions_env("schedule"), payload)
    assert event.name is EventName.SCHEDULE
    assert (event.repository, event.ref) == ("acme-ml/churn-model", "refs/heads/main")
    assert event.run_url == "https://github.com/acme-ml/churn-model/actions/runs/8712345678"


def test_our_fixtures_have_the_shape_of_the_real_ones() -> None:
    """Every key path our comment fixtures use exists, with the same type, in GitHub's."""
    real = load(REAL / "issue_comment" / "created.payload.json")
    for name in ["created.pr.user", "created.pr.bot", "edited.pr"]:
        ours = load(OURS / f"issue_comment.{name}.json")
        for path in [
            ("action",),
            ("comment", "id"),
            ("comment", "body"),
            ("comment", "html_url"),
            ("comment", "author_association"),
            ("comment", "user", "login"),
            ("comment", "user", "type"),
            ("issue", "number"),
            ("repository", "full_name"),
            ("sender", "login"),
        ]:
            mine, theirs = ours, real
            for key in path:
                mine, theirs = mine[key], theirs[key]
            assert type(mine) is type(theirs), (name, path)


# --- our payloads --------------------------------------------------------------------------------


def test_dispatch_with_inputs() -> None:
    event = github_event(
        actions_env("workflow_dispatch"), load(OURS / "workflow_dispatch.inputs.json")
    )
    assert event.name is EventName.WORKFLOW_DISPATCH
    assert dict(event.inputs) == {"run": "3F2A9C1B", "dry_run": "true", "objective": "min val_loss"}
    assert ignored(event) is None
    with pytest.raises(TypeError):
        event.inputs["run"] = "x"  # type: ignore[index]


def test_schedule_after_2022() -> None:
    payload = load(OURS / "schedule.json")
    env = actions_env("schedule", GITHUB_REPOSITORY="acme-ml/churn-model", GITHUB_ACTOR="acme-bot")
    event = github_event(env, payload)
    assert event.actor == "acme-bot"
    assert event.comment is None and event.inputs == {}


def test_comment_by_a_user_on_a_pull_request() -> None:
    event = github_event(
        actions_env("issue_comment"), load(OURS / "issue_comment.created.pr.user.json")
    )
    assert event.comment == CommentEvent(
        action="created",
        id=2058671143,
        body="Looks good on the holdout set.\r\n\r\n/promote 3f2a9c1b --dry-run\r\n",
        author="alice-ds",
        author_type="User",
        author_association="MEMBER",
        number=42,
        is_pull_request=True,
        html_url="https://github.com/acme-ml/churn-model/pull/42#issuecomment-2058671143",
    )
    assert ignored(event) is None


def test_comment_by_a_bot_is_ignored() -> None:
    event = github_event(
        actions_env("issue_comment"), load(OURS / "issue_comment.created.pr.bot.json")
    )
    assert event.comment is not None and event.comment.body.startswith("/promote help")
    assert ignored(event) == IGNORED_BOT.format(login="github-actions[bot]")


def test_edited_comment_is_ignored() -> None:
    event = github_event(actions_env("issue_comment"), load(OURS / "issue_comment.edited.pr.json"))
    assert event.comment is not None and event.comment.body == "/promote 3f2a9c1b"
    assert ignored(event) == IGNORED_ACTION.format(action="edited")


# --- should_ignore -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"action": "deleted"}, IGNORED_ACTION.format(action="deleted")),
        ({"author_type": "Bot", "author": "renovate"}, IGNORED_BOT.format(login="renovate")),
        # A bot's login is the tell even when the type is missing.
        ({"author_type": None, "author": "acme[bot]"}, IGNORED_BOT.format(login="acme[bot]")),
        ({"body": "> /promote"}, IGNORED_NO_COMMAND.format(prefix="/promote")),
        # The association is informational: never a reason either way.
        ({"author_association": "NONE"}, None),
        ({"is_pull_request": False}, None),
        # The edit check comes first: an edited bot comment is "edited".
        ({"action": "edited", "author_type": "Bot"}, IGNORED_ACTION.format(action="edited")),
    ],
)
def test_should_ignore(changes: dict[str, Any], reason: str | None) -> None:
    assert ignored(comment_event(**changes)) == reason


def test_should_ignore_custom_prefix() -> None:
    event = comment_event(body="/ship abcd")
    assert ignored(event, "/ship") is None
    assert ignored(event) == IGNORED_NO_COMMAND.format(prefix="/promote")


# --- the environment -----------------------------------------------------------------------------


def test_other_events_keep_their_name() -> None:
    event = github_event(actions_env("release"), {"ref": "refs/heads/x", "after": "abc"})
    assert event.name is EventName.OTHER
    assert event.raw_name == "release"
    assert event.ref == "refs/heads/main"  # the variable wins over the payload
    assert ignored(event) is None


def test_enterprise_server() -> None:
    env = actions_env(
        "schedule",
        GITHUB_SERVER_URL="https://ghe.acme.example/",
        GITHUB_API_URL="https://ghe.acme.example/api/v3/",
    )
    event = github_event(env, {})
    assert event.server_url == "https://ghe.acme.example"
    assert event.api_url == "https://ghe.acme.example/api/v3"
    assert event.run_url == "https://ghe.acme.example/acme-ml/churn-model/actions/runs/8712345678"


def test_enterprise_server_without_api_url_is_refused() -> None:
    env = actions_env("schedule", GITHUB_SERVER_URL="https://ghe.acme.example")
    del env["GITHUB_API_URL"]
    with pytest.raises(UsageError) as raised:
        github_event(env, {})
    assert str(raised.value) == NO_API_URL.format(server="https://ghe.acme.example")


def test_defaults_outside_github() -> None:
    env = {"GITHUB_EVENT_NAME": "schedule", "GITHUB_REPOSITORY": "o/r"}
    event = github_event(env, {})
    assert event == Event(
        name=EventName.SCHEDULE,
        raw_name="schedule",
        repository="o/r",
        ref=None,
        actor=None,
        server_url="https://github.com",
        api_url="https://api.github.com",
        run_url=None,
    )


@pytest.mark.parametrize(
    ("env", "payload", "error"),
    [
        ({}, {}, NO_EVENT_NAME),
        ({"GITHUB_EVENT_NAME": "  "}, {}, NO_EVENT_NAME),
        ({"GITHUB_EVENT_NAME": "schedule"}, {}, NO_REPOSITORY),
        (
            {"GITHUB_EVENT_NAME": "schedule", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "1;x"},
            {},
            BAD_RUN_ID.format(value="1;x"),
        ),
        (
            {"GITHUB_EVENT_NAME": "schedule", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "١٢"},
            {},
            BAD_RUN_ID.format(value="١٢"),
        ),
        (
            {"GITHUB_EVENT_NAME": "schedule", "GITHUB_REPOSITORY": "o/r"},
            {},
            None,
        ),
    ],
)
def test_environment_errors(
    env: dict[str, str], payload: dict[str, Any], error: str | None
) -> None:
    if error is None:
        assert github_event(env, payload).repository == "o/r"
        return
    with pytest.raises(UsageError) as raised:
        github_event(env, payload)
    assert str(raised.value) == error


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GITHUB_SERVER_URL", "github.com"),
        ("GITHUB_SERVER_URL", "file:///etc"),
        ("GITHUB_API_URL", "javascript:alert(1)"),
        ("GITHUB_API_URL", "https://"),
    ],
)
def test_bad_urls(name: str, value: str) -> None:
    with pytest.raises(UsageError) as raised:
        github_event(actions_env("schedule", **{name: value}), {})
    assert str(raised.value) == BAD_URL.format(name=name, value=value)


@pytest.mark.parametrize(
    "repository",
    [
        "acme-ml/churn-model",
        "Octo-Org/octo.repo_2",
        "a/b",
        "octocat_acme/.github",  # EMU login, dot-repo
        "o/..x",
    ],
)
def test_good_repositories(repository: str) -> None:
    event = github_event(actions_env("schedule", GITHUB_REPOSITORY=repository), {})
    assert event.repository == repository


@pytest.mark.parametrize(
    "repository",
    ["acme", "acme/", "/repo", "a/b/c", "o/..", "o/.", "-o/r", "o/r r", "o/r\nx", "ö/r", "o/r;ls"],
)
def test_bad_repositories(repository: str) -> None:
    with pytest.raises(UsageError) as raised:
        github_event(actions_env("schedule", GITHUB_REPOSITORY=repository), {})
    assert str(raised.value) == BAD_REPOSITORY.format(value=repository.strip())


def test_repository_from_the_payload_is_validated_too() -> None:
    env = actions_env("schedule")
    del env["GITHUB_REPOSITORY"]
    with pytest.raises(UsageError, match="is not owner/name"):
        github_event(env, {"repository": {"full_name": "../../etc"}})


# --- comment payload errors ----------------------------------------------------------------------


def minimal_comment() -> dict[str, Any]:
    return {
        "action": "created",
        "comment": {"id": 7, "body": "/promote", "user": {"login": "alice-ds"}},
        "issue": {"number": 3},
    }


def test_minimal_comment_payload() -> None:
    event = github_event(actions_env("issue_comment"), minimal_comment())
    assert event.comment == CommentEvent(
        action="created",
        id=7,
        body="/promote",
        author="alice-ds",
        author_type=None,
        author_association=None,
        number=3,
        is_pull_request=False,
        html_url=None,
    )


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("action",), None, MISSING_KEY.format(event="issue_comment", key="action")),
        (("comment",), None, MISSING_KEY.format(event="issue_comment", key="comment.id")),
        (("comment", "id"), None, MISSING_KEY.format(event="issue_comment", key="comment.id")),
        (("comment", "body"), None, MISSING_KEY.format(event="issue_comment", key="comment.body")),
        (
            ("comment", "user"),
            None,
            MISSING_KEY.format(event="issue_comment", key="comment.user.login"),
        ),
        (("issue", "number"), None, MISSING_KEY.format(event="issue_comment", key="issue.number")),
        (
            ("comment", "id"),
            "7",
            WRONG_TYPE.format(event="issue_comment", key="comment.id", kind="an integer"),
        ),
        (
            ("comment", "id"),
            True,
            WRONG_TYPE.format(event="issue_comment", key="comment.id", kind="an integer"),
        ),
        (
            ("comment", "body"),
            ["/promote"],
            WRONG_TYPE.format(event="issue_comment", key="comment.body", kind="a string"),
        ),
        (
            ("issue", "number"),
            3.0,
            WRONG_TYPE.format(event="issue_comment", key="issue.number", kind="an integer"),
        ),
    ],
)
def test_comment_payload_errors(path: tuple[str, ...], value: object, error: str) -> None:
    payload = minimal_comment()
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    with pytest.raises(UsageError) as raised:
        github_event(actions_env("issue_comment"), payload)
    assert str(raised.value) == error


def test_empty_payload_for_a_comment_names_the_first_key() -> None:
    with pytest.raises(UsageError, match="has no action"):
        github_event(actions_env("issue_comment"), {})


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (None, {}),
        ({}, {}),
        (
            {"dry_run": True, "n": 3, "x": 0.5, "e": None},
            {"dry_run": "true", "n": "3", "x": "0.5", "e": ""},
        ),
        ({"dry_run": False}, {"dry_run": "false"}),
    ],
)
def test_dispatch_input_values(inputs: object, expected: dict[str, str]) -> None:
    event = github_event(actions_env("workflow_dispatch"), {"inputs": inputs})
    assert dict(event.inputs) == expected


@pytest.mark.parametrize(
    ("inputs", "key"), [(["run"], "inputs"), ({"run": ["a"]}, "inputs.run"), ("run=1", "inputs")]
)
def test_dispatch_bad_inputs(inputs: object, key: str) -> None:
    with pytest.raises(UsageError, match=f"payload's {key} is not"):
        github_event(actions_env("workflow_dispatch"), {"inputs": inputs})


def test_inputs_are_read_only_for_dispatch() -> None:
    event = github_event(
        actions_env("schedule"), {"inputs": {"run": "abcd"}, "schedule": "0 0 * * *"}
    )
    assert event.inputs == {}
    dispatch = github_event(actions_env("workflow_dispatch"), {"inputs": {"run": "abcd"}})
    assert dispatch.inputs == {"run": "abcd"}


# --- the event file ------------------------------------------------------------------------------


def test_load_event_payload(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text('{"schedule": "0 4 * * 1"}', encoding="utf-8")
    assert load_event_payload(str(path)) == {"schedule": "0 4 * * 1"}
    path.write_bytes(b'\xef\xbb\xbf{"a": "\xc3\xa9"}')
    assert load_event_payload(str(path)) == {"a": "é"}
    path.write_text(" \n", encoding="utf-8")
    assert load_event_payload(str(path)) == {}


@pytest.mark.parametrize("path", [None, "", "/nonexistent/event.json"])
def test_no_event_file(path: str | None) -> None:
    assert load_event_payload(path) == {}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{", "is not valid JSON"),
        (b"{'a': 1}", "is not valid JSON"),
        (b"[1, 2]", "holds JSON list, not an object"),
        (b'"schedule"', "holds JSON str, not an object"),
        (b"\xff\xfe{}", "cannot read the event file"),
    ],
)
def test_bad_event_file(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=match):
        load_event_payload(str(path))


def test_event_file_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the event file"):
        load_event_payload(str(tmp_path))


def test_our_fixtures_are_valid_json_objects() -> None:
    names = sorted(p.name for p in OURS.glob("*.json"))
    assert names == [
        "issue_comment.created.pr.bot.json",
        "issue_comment.created.pr.user.json",
        "issue_comment.edited.pr.json",
        "schedule.json",
        "workflow_dispatch.inputs.json",
    ]
    for name in names:
        assert isinstance(json.loads((OURS / name).read_text(encoding="utf-8")), dict)
