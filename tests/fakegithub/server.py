"""The HTTP side of the fake GitHub: a threaded stdlib server, request log, planned faults, auth."""

from __future__ import annotations

import json
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tests.fakegithub import api, issues, pulls, repositories
from tests.fakegithub.api import ApiError, Ctx, Reply
from tests.fakegithub.shapes import Urls
from tests.fakegithub.state import DEFAULT_TOKEN, State, User

if TYPE_CHECKING:
    from github import Github
    from urllib3 import Retry

ENDPOINTS = (repositories, pulls, issues)  # importing them registers their routes
ENTERPRISE_PREFIX = "/api/v3"
SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID ABCD:1234."
)
_FAULT_MESSAGES = {401: "Bad credentials", 403: "Forbidden", 404: "Not Found"}


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str  # as sent, with any /api/v3 prefix
    route: str  # without the prefix: what routes and faults are matched against
    query: dict[str, list[str]]
    body: Any  # the decoded JSON body, or None
    headers: dict[str, str]
    raw_body: bytes = b""
    status: int = 0  # 0 when no answer was sent (a held or lost answer)
    known: bool = True  # False when no route serves it
    fault: bool = False  # answered by a planned fault
    effect: int = 0  # for a request carried out without an answer: the status it would have had

    def header(self, name: str) -> str | None:
        """A request header, by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Fault:
    """A planned answer for the next request matching ``method`` and the ``pattern`` regex.

    With ``silent`` no answer is sent: the server waits ``hold`` seconds (``math.inf``: until
    it stops), then closes the connection. With ``carry_out`` the request takes effect first,
    as on a server whose answer was lost after the write; ``then`` is called once it has.
    """

    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    silent: bool = False
    hold: float = 0.0
    carry_out: bool = False
    then: Callable[[RecordedRequest], None] | None = None


@dataclass
class _Silence:
    """No answer: hold the connection ``hold`` seconds, then close it."""

    hold: float


class FakeGitHub:
    """A stateful fake of GitHub's REST API on 127.0.0.1, served from a daemon thread.

    ``url`` is the github.com-style base, ``enterprise_url`` the same API under ``/api/v3``.
    """

    def __init__(self, state: State | None = None) -> None:
        self.state = state or State.with_defaults()
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.errors: list[Exception] = []  # exceptions raised by handlers (bugs in the fake)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()  # releases held requests

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the fake GitHub is not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def enterprise_url(self) -> str:
        return self.url + ENTERPRISE_PREFIX

    def client(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        retry: int | Retry | None = None,
        enterprise: bool = False,
    ) -> Github:
        """A PyGithub client on this server: no throttling, and no retries unless ``retry``."""
        from github import Auth, Github

        return Github(
            base_url=self.enterprise_url if enterprise else self.url,
            auth=Auth.Token(token),
            retry=retry,
            seconds_between_requests=0,
            seconds_between_writes=0,
            timeout=10,
        )

    # --- planned faults -----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 502,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        carry_out: bool = False,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` (searched in
        the path without ``/api/v3`` or query) with ``status``; each planned fault is used once.
        With ``carry_out`` the request takes effect first (GitHub's 502 after the write)."""
        if body is None:
            message = _FAULT_MESSAGES.get(status, "Server Error")
            body = {"message": message, "documentation_url": api.DOCS, "status": str(status)}
        pattern = re.compile(path_regex)
        with self._log_lock:
            for _ in range(times):
                self.faults.append(
                    Fault(
                        method.upper(),
                        pattern,
                        status,
                        body,
                        dict(headers or {}),
                        carry_out=carry_out,
                    )
                )

    def hold_next(
        self,
        method: str,
        path_regex: str,
        *,
        seconds: float = math.inf,
        carry_out: bool = False,
        then: Callable[[RecordedRequest], None] | None = None,
        times: int = 1,
    ) -> None:
        """Never answer the next ``times`` matching requests: hold each ``seconds`` (by default
        until the server stops: a server that hangs), then close the connection. With
        ``carry_out`` the request takes effect first (the answer is lost after the write), and
        ``then`` is called once it has (to kill the client, say)."""
        pattern = re.compile(path_regex)
        with self._log_lock:
            for _ in range(times):
                self.faults.append(
                    Fault(method.upper(), pattern, 0, None, {}, True, seconds, carry_out, then)
                )

    def lose_answer_next(
        self,
        method: str,
        path_regex: str,
        *,
        then: Callable[[RecordedRequest], None] | None = None,
        times: int = 1,
    ) -> None:
        """Carry out the next ``times`` matching requests, then close the connection without
        an answer (the client sees it dropped); ``then`` is called after each takes effect."""
        self.hold_next(method, path_regex, seconds=0.0, carry_out=True, then=then, times=times)

    def rate_limit_next(
        self, method: str, path_regex: str, *, retry_after: int | None = 1, times: int = 1
    ) -> None:
        """Plan GitHub's secondary rate limit answer: 403, its message, ``retry-after``."""
        headers = {"X-RateLimit-Remaining": "4999"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = {"message": SECONDARY_RATE_LIMIT, "documentation_url": f"{api.DOCS}/overview"}
        self.fail_next(method, path_regex, status=403, body=body, headers=headers, times=times)

    # --- the request log ----------------------------------------------------------------------

    def calls(self, method: str | None = None, path_regex: str = "") -> list[RecordedRequest]:
        """Recorded requests, optionally only those matching ``method`` and ``path_regex``."""
        with self._log_lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper()) and re.search(path_regex, r.route)
            ]

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests no route serves (answered 404): tests assert this is empty."""
        return [r for r in self.calls() if not r.known]

    def clear_requests(self) -> None:
        with self._log_lock:
            self.requests.clear()

    # --- answering ----------------------------------------------------------------------------

    def _take_fault(self, method: str, route: str) -> Fault | None:
        with self._log_lock:
            for fault in self.faults:
                if fault.method == method and fault.pattern.search(route):
                    self.faults.remove(fault)
                    return fault
        return None

    def answer(self, record: RecordedRequest, root: str) -> Reply | _Silence:
        """The reply to one recorded request (faults, then auth, then the route)."""
        with self._log_lock:
            self.requests.append(record)
        found = api.find_route(record.method, record.route)
        record.known = found is not None
        fault = self._take_fault(record.method, record.route)
        if fault is not None:
            record.fault = True
            if fault.carry_out:
                record.effect = self._route(record, root, found).status
            if not fault.silent:
                return Reply(fault.status, fault.body, fault.headers)
            if fault.then is not None:
                fault.then(record)
            return _Silence(fault.hold)
        return self._route(record, root, found)

    def _route(
        self, record: RecordedRequest, root: str, found: tuple[Any, dict[str, Any]] | None
    ) -> Reply:
        try:
            if record.body is None and record.raw_body.strip() not in (b"", b"null"):
                raise ApiError(400, "Problems parsing JSON")
            user = self._authenticate(record.header("Authorization"))
            if found is None:
                raise api.not_found()
            api_base = root + (ENTERPRISE_PREFIX if record.path != record.route else "")
            query = {k: v[-1] for k, v in record.query.items()}
            with self.state.lock:
                ctx = Ctx(self.state, Urls(api_base, root), user, record.route, query, record.body)
                return api.call(ctx, *found)
        except ApiError as error:
            return Reply(error.status, error.body())
        except Exception as error:  # a bug in the fake: answer 500 and keep it for the test
            self.errors.append(error)
            return Reply(500, {"message": f"fake GitHub failed: {error!r}"})

    def _authenticate(self, header: str | None) -> User:
        if not header:
            raise ApiError(401, "Requires authentication")
        scheme, _, token = header.partition(" ")
        login = (
            self.state.tokens.get(token.strip()) if scheme.lower() in ("token", "bearer") else None
        )
        user = self.state.user(login) if login else None
        if user is None:
            raise ApiError(401, "Bad credentials")
        return user


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def _serve(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        route = path[len(ENTERPRISE_PREFIX) :] if path.startswith(ENTERPRISE_PREFIX + "/") else path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = None  # answered 400 "Problems parsing JSON"
        record = RecordedRequest(
            self.command,
            path,
            route,
            urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            body,
            dict(self.headers.items()),
            raw,
        )
        host = self.headers.get("Host") or f"127.0.0.1:{self.fake.port}"
        reply = self.fake.answer(record, f"http://{host}")
        if isinstance(reply, _Silence):
            self.fake._stopping.wait(None if math.isinf(reply.hold) else reply.hold)
            record.status = 0
            self.close_connection = True
            return
        record.status = reply.status
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        data = b"" if reply.status == 204 else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": "core",
            **reply.headers,
            "Content-Length": str(len(data)),
        }
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is ``FakeGitHub.requests``."""
