"""How the fake GitLab's endpoints are written: the route table, the request context, replies,
GitLab's error shapes and its offset pagination.

GitLab answers errors two ways: ``{"message": ...}`` from the application (a string such as
``"404 Not found"``, a list of strings, or a field -> messages object for validation) and
``{"error": "..."}`` from parameter validation (Grape). Every handler runs with ``State.lock``
held.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakegitlab.model import Project, User
from tests.fakegitlab.shapes import Urls
from tests.fakegitlab.state import State

DEFAULT_PER_PAGE, MAX_PER_PAGE = 20, 100


@dataclass
class Reply:
    """What a handler answers: status, JSON (or text, or bytes) body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer: ``{key: message}`` with GitLab's status."""

    def __init__(self, status: int, message: Any, *, key: str = "message") -> None:
        super().__init__(message)
        self.status, self.message, self.key = status, message, key

    def body(self) -> dict[str, Any]:
        """The JSON GitLab sends for this error."""
        return {self.key: self.message}


def not_found(what: str | None = None) -> ApiError:
    """GitLab's 404: ``404 Project Not Found`` for a named resource, else ``404 Not found``
    (what an unknown record id gives)."""
    return ApiError(404, f"404 {what} Not Found" if what else "404 Not found")


def unauthorized() -> ApiError:
    """GitLab's 401, for a missing or wrong token."""
    return ApiError(401, "401 Unauthorized")


def forbidden() -> ApiError:
    """GitLab's 403, for a caller whose role is too low."""
    return ApiError(403, "403 Forbidden")


def bad_param(name: str, problem: str = "is invalid") -> ApiError:
    """Grape's parameter validation: ``{"error": "title is missing"}``."""
    return ApiError(400, f"{name} {problem}", key="error")


def invalid(errors: dict[str, list[str]]) -> ApiError:
    """A model validation failure: ``{"message": {"field": ["message", ...]}}``."""
    return ApiError(400, errors)


@dataclass
class Ctx:
    """One request: the state, the caller (None when anonymous), and its parameters (the query
    string and the JSON or form body merged, the body winning, as Grape merges them)."""

    state: State
    urls: Urls
    user: User | None
    route: str  # the path after /api/v4, still URL-encoded
    query: dict[str, list[str]]
    params: dict[str, Any]

    @property
    def me(self) -> User:
        """The caller; writes are only routed for authenticated callers."""
        assert self.user is not None
        return self.user

    def has(self, name: str) -> bool:
        """Whether the request gave parameter ``name`` at all."""
        return name in self.params

    def text(self, name: str, *, required: bool = False, blank: bool = True) -> str | None:
        """A string parameter; 400 when ``required`` and missing, or blank and not ``blank``."""
        value = self.params.get(name)
        if value is None:
            if required:
                raise bad_param(name, "is missing")
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise bad_param(name)
        if not blank and not str(value).strip():
            raise bad_param(name, "is empty")
        return str(value)

    def integer(self, name: str) -> int | None:
        """An integer parameter (JSON number or digits); 400 ``is invalid`` otherwise."""
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
            raise bad_param(name)
        return int(value)

    def flag(self, name: str) -> bool | None:
        """A boolean parameter: JSON true/false or ``true``/``false``/``1``/``0`` text."""
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise bad_param(name)

    def strings(self, name: str) -> list[str] | None:
        """A list given as a JSON array or as a comma-separated string (labels)."""
        value = self.params.get(name)
        if value is None:
            return None
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]

    def integers(self, name: str) -> list[int] | None:
        """User ids given as a JSON array, ``name[]=1&name[]=2``, or ``"1,2"``; 0 means none."""
        items = self.strings(name)
        if items is None:
            return None
        if not all(item.isdigit() for item in items):
            raise bad_param(name)
        return [int(item) for item in items if int(item) != 0]

    def choice(self, name: str, values: tuple[str, ...], default: str = "") -> str:
        """One of ``values``; ``default`` when absent; 400 for anything else."""
        value = self.text(name)
        if value is None:
            return default
        if value not in values:
            raise bad_param(name, "does not have a valid value")
        return value

    def paginate(self, items: list[Any]) -> Reply:
        """``items`` cut by ``page`` and ``per_page`` (20 by default, at most 100) with GitLab's
        headers: ``X-Page``, ``X-Per-Page``, ``X-Total``, ``X-Total-Pages``, ``X-Next-Page`` and
        ``X-Prev-Page`` (empty on the last and first page) and ``Link`` (prev, next, first,
        last), whose URLs keep every other query parameter."""
        per_page = min(MAX_PER_PAGE, max(1, self.integer("per_page") or DEFAULT_PER_PAGE))
        page = max(1, self.integer("page") or 1)
        pages = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        next_page = page + 1 if page < pages else None
        prev_page = page - 1 if 1 < page <= pages + 1 else None
        wanted = {"prev": prev_page, "next": next_page, "first": 1, "last": pages}
        links = [f'<{self._url(n, per_page)}>; rel="{rel}"' for rel, n in wanted.items() if n]
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(next_page or ""),
            "X-Prev-Page": str(prev_page or ""),
            "Link": ", ".join(links),
        }
        return Reply(200, chunk, headers)

    def _url(self, page: int, per_page: int) -> str:
        query = [
            (k, v) for k, vs in self.query.items() for v in vs if k not in ("page", "per_page")
        ]
        query += [("page", str(page)), ("per_page", str(per_page))]
        return f"{self.urls.api}{self.route}?{urllib.parse.urlencode(query)}"


Handler = Callable[..., Reply]
ROUTES: list[tuple[str, re.Pattern[str], frozenset[str], Handler]] = []
_KINDS = {"": "[^/]+", "int": r"\d+", "noteable": "merge_requests|issues"}


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register a handler; ``{name}`` is one URL-encoded path segment (``group%2Fproject``,
    ``promote%2Ftrain``), ``{name:int}`` a number, ``{name:noteable}`` ``merge_requests`` or
    ``issues``. ``{project}`` is resolved to the Project."""

    def to_regex(m: re.Match[str]) -> str:
        return f"(?P<{m[1]}>{_KINDS[m[2] or '']})"

    pattern = re.compile("^" + re.sub(r"\{(\w+)(?::(\w+))?\}", to_regex, template) + "$")
    ints = frozenset(re.findall(r"\{(\w+):int\}", template))

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, pattern, ints, handler))
        return handler

    return register


def find_route(method: str, route: str) -> tuple[Handler, dict[str, Any]] | None:
    """The handler for ``method route`` (route still URL-encoded) and its decoded parameters."""
    for verb, pattern, ints, handler in ROUTES:
        match = pattern.match(route)
        if verb == method and match:
            params: dict[str, Any] = {}
            for key, raw in match.groupdict().items():
                value = urllib.parse.unquote(raw)
                params[key] = int(value) if key in ints else value
            return handler, params
    return None


def call(ctx: Ctx, handler: Handler, params: dict[str, Any]) -> Reply:
    """Run ``handler`` with ``{project}`` resolved: an unknown project, or one the caller may
    not read, is ``404 Project Not Found`` (GitLab does not reveal private projects)."""
    if "project" in params:
        project = ctx.state.find_project(params["project"])
        if project is None or not can_read(ctx.user, project):
            raise not_found("Project")
        params["project"] = project
    return handler(ctx, **params)


def can_read(user: User | None, project: Project) -> bool:
    """Public projects are readable by anyone, others by members and administrators."""
    if project.visibility == "public" or (project.visibility == "internal" and user):
        return True
    return user is not None and project.access_level(user) > 0


def require_level(ctx: Ctx, project: Project, level: int) -> None:
    """403 unless the caller has at least ``level`` in ``project``."""
    if project.access_level(ctx.me) < level:
        raise forbidden()


P = "/projects/{project}"  # every project route starts here
