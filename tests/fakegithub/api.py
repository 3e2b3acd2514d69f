"""How the fake GitHub's endpoints are written: the route table, the request context, replies
and GitHub's error shapes, and helpers the endpoint modules share.

Status codes, messages and validation errors are GitHub's own (REST docs, OpenAPI description
and observed answers); every handler runs with ``State.lock`` held.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakegithub.shapes import Json, Urls
from tests.fakegithub.state import Issue, Repo, State, User, now

DOCS = "https://docs.github.com/rest"
MAX_BODY = 65536


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer in GitHub's shape: message, documentation_url, status, maybe errors."""

    def __init__(
        self, status: int, message: str, *, errors: list[Json] | None = None, doc: str = DOCS
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.doc = status, message, errors, doc

    def body(self) -> Json:
        data: Json = {"message": self.message, "documentation_url": self.doc}
        if self.errors is not None:
            data["errors"] = self.errors
        data["status"] = str(self.status)
        return data


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, message)


def invalid(*errors: Json) -> ApiError:
    return ApiError(422, "Validation Failed", errors=list(errors))


@dataclass
class Ctx:
    """One authenticated request: the state, the caller, its query and JSON body."""

    state: State
    urls: Urls
    user: User
    path: str  # without any /api/v3 prefix
    query: dict[str, str]
    body: Any

    def obj(self) -> Json:
        return self.body if isinstance(self.body, dict) else {}

    def field(self, key: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
        """``body[key]`` checked like GitHub's request schema validation."""
        data = self.obj()
        if data.get(key) is None:
            if required:
                raise ApiError(422, f'Invalid request.\n\n"{key}" wasn\'t supplied.')
            return None
        value = data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            names = " or ".join({str: "string", bool: "boolean", list: "array"}[k] for k in kinds)
            shown = json.dumps(value)
            raise ApiError(
                422, f"Invalid request.\n\nFor 'properties/{key}', {shown} is not a {names}."
            )
        return value

    def paginate(self, items: list[Json]) -> Reply:
        """``items`` cut by ``per_page`` (default 30, at most 100) and ``page``, with ``Link``."""
        per_page = min(100, max(1, int_param(self.query.get("per_page"), 30)))
        page = max(1, int_param(self.query.get("page"), 1))
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        wanted = {"next": page + 1, "last": last} if page < last else {}
        if page > 1:
            wanted = {"prev": page - 1, "first": 1, **wanted}
        links = [f'<{self.url(page=n)}>; rel="{rel}"' for rel, n in wanted.items()]
        return Reply(200, chunk, {"Link": ", ".join(links)} if links else {})

    def url(self, **changes: object) -> str:
        query = {**self.query, **{k: str(v) for k, v in changes.items()}}
        return f"{self.urls.api}{self.path}?{urllib.parse.urlencode(query)}"


Handler = Callable[..., Reply]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
_KINDS = {"": "[^/]+", "int": r"\d+", "path": ".+"}


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register a handler; ``{name}``, ``{name:int}`` and ``{name:path}`` are parameters."""

    def to_regex(m: re.Match[str]) -> str:
        return f"(?P<{m[1]}>{_KINDS[m[2] or '']})"

    pattern = re.compile("^" + re.sub(r"\{(\w+)(?::(\w+))?\}", to_regex, template) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, pattern, handler))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Handler, dict[str, Any]] | None:
    """The handler for ``method path`` and its decoded parameters, or None."""
    for verb, pattern, handler in ROUTES:
        match = pattern.match(path)
        if verb == method and match:
            params: dict[str, Any] = {}
            for key, raw in match.groupdict().items():
                value = urllib.parse.unquote(raw)
                params[key] = (
                    int(value) if key in ("number", "comment_id", "reaction_id") else value
                )
            return handler, params
    return None


def call(ctx: Ctx, handler: Handler, params: dict[str, Any]) -> Reply:
    """Run ``handler``, turning ``owner`` and ``name`` into the ``Repo`` (404 when unknown)."""
    if "owner" in params:
        full = f"{params.pop('owner')}/{params.pop('name')}"
        if full.lower() not in ctx.state.repos:
            raise not_found()
        params["repo"] = ctx.state.repos[full.lower()]
    return handler(ctx, **params)


REPO = "/repos/{owner}/{name}"


def int_param(text: str | None, default: int) -> int:
    """A numeric query parameter; GitHub ignores one that is not a number."""
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def custom(resource: str, message: str) -> Json:
    """A validation error with a free-text message (GitHub's code ``custom``)."""
    return {"resource": resource, "code": "custom", "message": message}


def check_body(body: str | None, resource: str) -> None:
    """GitHub refuses issue, pull request and comment bodies over 65536 characters."""
    if body is not None and len(body) > MAX_BODY:
        message = f"body is too long (maximum is {MAX_BODY} characters)"
        raise invalid({**custom(resource, message), "field": "body"})


def set_state(issue: Issue, state: str | None, reason: str | None) -> None:
    """Open or close ``issue`` (a pull request's issue too) and mark it updated."""
    if state is not None and state != issue.state:
        issue.state = state
        issue.closed_at = now() if state == "closed" else None
        issue.state_reason = reason or ("completed" if state == "closed" else "reopened")
    issue.touch()


def issue_of(repo: Repo, number: int) -> Issue:
    """Issue or pull request ``number``, else 404."""
    if number not in repo.issues:
        raise not_found()
    return repo.issues[number]


def pull_of(repo: Repo, number: int) -> Issue:
    """The issue of pull request ``number``, else 404 (a plain issue is not a pull)."""
    issue = issue_of(repo, number)
    if issue.pull is None:
        raise not_found()
    return issue
