"""GitHub Actions' environment and event payload, read once at the edge into one event."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

from promoter.errors import UsageError

DEFAULT_SERVER_URL: Final = "https://github.com"
DEFAULT_API_URL: Final = "https://api.github.com"

NO_EVENT_NAME: Final = "GITHUB_EVENT_NAME is not set: `promoter event` runs inside GitHub Actions"
NO_REPOSITORY: Final = "GITHUB_REPOSITORY is not set and the event payload names no repository"
BAD_REPOSITORY: Final = "the repository {value!r} is not owner/name"
BAD_URL: Final = "{name} {value!r} is not an http(s) URL"
NO_API_URL: Final = (
    "GITHUB_API_URL is not set and GITHUB_SERVER_URL {server!r} is not github.com: "
    "set GITHUB_API_URL (a GitHub Enterprise Server API is usually <server>/api/v3)"
)
BAD_RUN_ID: Final = "GITHUB_RUN_ID {value!r} is not a number"
MISSING_KEY: Final = "the {event} event payload has no {key}"
WRONG_TYPE: Final = "the {event} event payload's {key} is not {kind}"
EVENT_FILE_UNREADABLE: Final = "cannot read the event file {path}: {reason}"
EVENT_FILE_INVALID: Final = "the event file {path} is not valid JSON: {reason}"
EVENT_FILE_NOT_OBJECT: Final = "the event file {path} holds JSON {kind}, not an object"

# Owners: letters, digits, hyphens (and "_" for Enterprise Managed Users' "_shortcode" logins);
# names: letters, digits, ".", "_", "-", but never "." or ".." (path traversal in URLs).
_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}/(?!\.{1,2}\Z)[A-Za-z0-9._-]{1,100}")
# A commit id: SHA-1, or SHA-256 in repositories that use it.
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class EventName(StrEnum):
    """The GitHub events promoter handles; anything else is OTHER."""

    WORKFLOW_DISPATCH = "workflow_dispatch"
    SCHEDULE = "schedule"
    ISSUE_COMMENT = "issue_comment"
    PUSH = "push"
    OTHER = "other"


_KNOWN_EVENTS: Final = {e.value: e for e in EventName if e is not EventName.OTHER}


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentEvent:
    """An ``issue_comment`` event; ``body`` and ``author_association`` are untrusted."""

    action: str
    id: int
    body: str
    author: str
    author_type: str | None
    author_association: str | None
    number: int
    is_pull_request: bool
    html_url: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PushEvent:
    """A ``push`` event: the ref pushed and its commits before and after (all zeros: the ref
    was created, or deleted)."""

    ref: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What started this workflow run, from the environment and the event payload."""

    name: EventName
    raw_name: str
    repository: str
    ref: str | None
    actor: str | None
    server_url: str
    api_url: str
    run_url: str | None
    inputs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    comment: CommentEvent | None = None
    push: PushEvent | None = None


def load_event_payload(path: str | None) -> dict[str, Any]:
    """The JSON object in the event file at ``path``; ``{}`` when there is no file."""
    if not path:
        return {}
    try:
        # utf-8-sig: a file written by hand on Windows may start with a BOM.
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(EVENT_FILE_UNREADABLE.format(path=path, reason=exc)) from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(EVENT_FILE_INVALID.format(path=path, reason=exc)) from exc
    if not isinstance(data, dict):
        raise UsageError(EVENT_FILE_NOT_OBJECT.format(path=path, kind=type(data).__name__))
    return data


def github_event(env: Mapping[str, str], payload: Mapping[str, Any]) -> Event:
    """The event of this run, from the ``GITHUB_*`` environment and the loaded payload."""
    raw_name = _env(env, "GITHUB_EVENT_NAME")
    if raw_name is None:
        raise UsageError(NO_EVENT_NAME)
    event = _KNOWN_EVENTS.get(raw_name, EventName.OTHER)
    repository = _repository(env, payload)
    server_url = _url(env, "GITHUB_SERVER_URL") or DEFAULT_SERVER_URL
    api_url = _url(env, "GITHUB_API_URL")
    if api_url is None:
        # Never send the token for an Enterprise Server to github.com by default.
        if server_url != DEFAULT_SERVER_URL:
            raise UsageError(NO_API_URL.format(server=server_url))
        api_url = DEFAULT_API_URL
    run_id = _env(env, "GITHUB_RUN_ID")
    if run_id is not None and not (run_id.isascii() and run_id.isdigit()):
        raise UsageError(BAD_RUN_ID.format(value=run_id))
    ref = _env(env, "GITHUB_REF") or _optional_str(payload, "ref")
    return Event(
        name=event,
        raw_name=raw_name,
        repository=repository,
        ref=ref,
        actor=_env(env, "GITHUB_ACTOR") or _optional_str(payload, "sender", "login"),
        server_url=server_url,
        api_url=api_url,
        run_url=f"{server_url}/{repository}/actions/runs/{run_id}" if run_id else None,
        inputs=_inputs(payload) if event is EventName.WORKFLOW_DISPATCH else MappingProxyType({}),
        comment=_comment(payload) if event is EventName.ISSUE_COMMENT else None,
        push=_push(payload, ref) if event is EventName.PUSH else None,
    )


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _repository(env: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    value = _env(env, "GITHUB_REPOSITORY") or _optional_str(payload, "repository", "full_name")
    if value is None:
        raise UsageError(NO_REPOSITORY)
    if not _REPOSITORY.fullmatch(value):
        raise UsageError(BAD_REPOSITORY.format(value=value))
    return value


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = _env(env, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(BAD_URL.format(name=name, value=value))
    return value.rstrip("/")


def _lookup(payload: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = payload
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _optional_str(payload: Mapping[str, Any], *keys: str) -> str | None:
    value = _lookup(payload, keys)
    return value if isinstance(value, str) and value else None


def _required(payload: Mapping[str, Any], key: str, kind: type[int] | type[str]) -> Any:
    value = _lookup(payload, tuple(key.split(".")))
    event = EventName.ISSUE_COMMENT.value
    if value is None:
        raise UsageError(MISSING_KEY.format(event=event, key=key))
    # bool is an int to Python, never to GitHub.
    if not isinstance(value, kind) or isinstance(value, bool):
        article = "an integer" if kind is int else "a string"
        raise UsageError(WRONG_TYPE.format(event=event, key=key, kind=article))
    return value


def _comment(payload: Mapping[str, Any]) -> CommentEvent:
    author_type = _optional_str(payload, "comment", "user", "type")
    return CommentEvent(
        action=_required(payload, "action", str),
        id=_required(payload, "comment.id", int),
        body=_required(payload, "comment.body", str),
        author=_required(payload, "comment.user.login", str),
        author_type=author_type,
        author_association=_optional_str(payload, "comment", "author_association"),
        number=_required(payload, "issue.number", int),
        is_pull_request=isinstance(_lookup(payload, ("issue", "pull_request")), Mapping),
        html_url=_optional_str(payload, "comment", "html_url"),
    )


def _push(payload: Mapping[str, Any], ref: str | None) -> PushEvent:
    # The payload's ref is the event's own; GITHUB_REF says the same for a push.
    pushed = _optional_str(payload, "ref") or ref
    if pushed is None:
        raise UsageError(MISSING_KEY.format(event=EventName.PUSH.value, key="ref"))
    return PushEvent(
        ref=pushed,
        before=_sha(payload, "before"),
        after=_sha(payload, "after") or _sha(payload, "head_commit", "id"),
    )


def _sha(payload: Mapping[str, Any], *keys: str) -> str | None:
    value = _optional_str(payload, *keys)
    if value is None:
        return None
    if not _SHA.fullmatch(value):
        raise UsageError(
            WRONG_TYPE.format(event=EventName.PUSH.value, key=".".join(keys), kind="a commit id")
        )
    return value


def _inputs(payload: Mapping[str, Any]) -> Mapping[str, str]:
    raw = payload.get("inputs")
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise UsageError(
            WRONG_TYPE.format(event=EventName.WORKFLOW_DISPATCH.value, key="inputs", kind="a map")
        )
    return MappingProxyType({str(key): _input_text(key, value) for key, value in raw.items()})


def _input_text(key: str, value: object) -> str:
    # Inputs reach the payload as strings, but a boolean or number input may arrive as JSON
    # true/3: show it as the workflow would (`true`, not Python's `True`).
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise UsageError(
        WRONG_TYPE.format(
            event=EventName.WORKFLOW_DISPATCH.value, key=f"inputs.{key}", kind="a string"
        )
    )
