"""The HTTP side of the fake GitLab: a threaded stdlib server answering under
``[prefix]/api/v4``, the request log, planned faults and authentication."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tests.fakegitlab import api, merge_requests, notes, projects
from tests.fakegitlab.api import ApiError, Ctx, Reply
from tests.fakegitlab.faults import Fault, FaultPlan
from tests.fakegitlab.model import DEFAULT_TOKEN, User
from tests.fakegitlab.shapes import Urls
from tests.fakegitlab.state import State

if TYPE_CHECKING:
    from gitlab import Gitlab

ENDPOINTS = (projects, merge_requests, notes)  # importing them registers their routes
API = "/api/v4"
SELF_MANAGED_PREFIX = "/gitlab"  # a relative URL root, as CI_SERVER_URL may carry one
UNKNOWN_ROUTE = {"error": "404 Not Found"}  # GitLab's catch-all API route


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str  # as sent (prefix and /api/v4 included), without the query
    route: str  # after [prefix]/api/v4, still URL-encoded: what routes and faults match; "" if
    #             the request was not under this server's API root
    query: dict[str, list[str]]
    body: Any  # the decoded JSON (or form) body, or None
    headers: dict[str, str]
    raw_body: bytes = b""
    status: int = 0  # for a lost answer, the status that was never sent; 0 for a hang
    known: bool = True  # False when no route serves it (answered 404)
    fault: str | None = None  # "status", "lost" or "hang" when a planned fault was used

    def header(self, name: str) -> str | None:
        """A request header, by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class FakeGitLab:
    """A stateful fake of GitLab's REST API on 127.0.0.1, served from a daemon thread.

    ``url`` is what python-gitlab takes (``CI_SERVER_URL``), ``api_url`` its ``/api/v4``
    (``CI_API_V4_URL``); set ``prefix`` (e.g. ``SELF_MANAGED_PREFIX``) to serve under a relative
    URL root instead, as a self-managed instance may. Requests outside it are unknown (404).
    """

    def __init__(self, state: State | None = None, *, prefix: str = "") -> None:
        self.state = state or State.with_defaults()
        self.prefix = prefix.rstrip("/")
        self.requests: list[RecordedRequest] = []
        self.plan = FaultPlan()
        self.errors: list[Exception] = []  # exceptions raised by handlers (bugs in the fake)
        self._httpd: ThreadingHTTPServer | None = None
        self._release = threading.Event()  # ends every held ("hang") request at once
        self._log_lock = threading.Lock()

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitLab:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._release.clear()
        thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeGitLab:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the fake GitLab is not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The instance's URL, relative root included: python-gitlab's ``url``."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    @property
    def api_url(self) -> str:
        return self.url + API

    def client(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        auth: str = "private",
        retry_transient_errors: bool = False,
        timeout: float = 10.0,
    ) -> Gitlab:
        """A python-gitlab client on this server; ``auth`` is ``private`` (PRIVATE-TOKEN),
        ``oauth`` (Authorization: Bearer) or ``job`` (JOB-TOKEN)."""
        from gitlab import Gitlab

        kinds = {"private": "private_token", "oauth": "oauth_token", "job": "job_token"}
        credentials = {kinds[auth]: token}
        return Gitlab(
            self.url,
            timeout=timeout,
            retry_transient_errors=retry_transient_errors,
            **credentials,  # type: ignore[arg-type]
        )

    # --- planned faults: see tests.fakegitlab.faults -----------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 502,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` (searched
        in the route, the path after ``/api/v4``) with ``status``, without doing the work."""
        self.plan.status(method, path_regex, status, body=body, headers=headers, times=times)

    def rate_limit_next(
        self, method: str, path_regex: str, *, retry_after: int | None = 1, times: int = 1
    ) -> None:
        """GitLab's 429, with ``Retry-After`` (None: without it)."""
        self.plan.rate_limit(method, path_regex, retry_after=retry_after, times=times)

    def lose_answer_next(self, method: str, path_regex: str, *, times: int = 1) -> None:
        """Do the work, then close the connection without answering."""
        self.plan.lost(method, path_regex, times=times)

    def hang_next(self, method: str, path_regex: str, *, hold: float = 5.0, times: int = 1) -> None:
        """Hold the request ``hold`` seconds (bounded) without doing the work, then close."""
        self.plan.hang(method, path_regex, hold=hold, times=times)

    @property
    def faults(self) -> list[Fault]:
        """Planned faults not used yet."""
        return list(self.plan.pending)

    # --- the request log ----------------------------------------------------------------------

    def calls(self, method: str | None = None, path_regex: str = "") -> list[RecordedRequest]:
        """Recorded requests, optionally only those matching ``method`` and ``path_regex``
        (searched in the route, the path after ``/api/v4``)."""
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

    def record(self, record: RecordedRequest) -> Fault | None:
        """Log a request and take the planned fault it meets, if any."""
        with self._log_lock:
            self.requests.append(record)
        record.known = bool(record.route) and bool(api.find_route(record.method, record.route))
        fault = self.plan.take(record.method, record.route) if record.route else None
        record.fault = fault.kind if fault else None
        return fault

    def answer(self, record: RecordedRequest, host: str) -> Reply:
        """The reply to one request: authentication, then the route's handler."""
        found = api.find_route(record.method, record.route) if record.route else None
        try:
            user, kind = self._authenticate(record)
            if found is None:
                return Reply(404, UNKNOWN_ROUTE)
            if record.method != "GET" and user is None:
                raise api.unauthorized()
            if record.method != "GET" and kind == "job":  # CI_JOB_TOKEN cannot write here
                raise api.forbidden()
            if record.body is None and record.raw_body.strip():  # Grape's own answer
                raise ApiError(400, "message body does not match declared format", key="error")
            params = _params(record)
            with self.state.lock:
                urls = Urls(f"http://{host}{self.prefix}")
                ctx = Ctx(self.state, urls, user, record.route, record.query, params)
                return api.call(ctx, *found)
        except ApiError as error:
            return Reply(error.status, error.body())
        except Exception as error:  # a bug in the fake: answer 500 and keep it for the test
            self.errors.append(error)
            return Reply(500, {"message": f"fake GitLab failed: {error!r}"})

    def _authenticate(self, record: RecordedRequest) -> tuple[User | None, str | None]:
        """The caller and how they came: ``PRIVATE-TOKEN`` or ``Authorization: Bearer`` (a
        personal, project or OAuth token), ``JOB-TOKEN``, or nobody. A token that is given but
        unknown is 401, whatever the endpoint."""
        private, job = record.header("PRIVATE-TOKEN"), record.header("JOB-TOKEN")
        scheme, _, bearer = (record.header("Authorization") or "").partition(" ")
        if private is not None:
            user_id, kind = self.state.tokens.get(private.strip()), "private"
        elif scheme:
            token = bearer.strip() if scheme.lower() == "bearer" else ""
            user_id, kind = self.state.tokens.get(token), "oauth"
        elif job is not None:
            user_id, kind = self.state.job_tokens.get(job.strip()), "job"
        else:
            return None, None
        if user_id is None or user_id not in self.state.users:
            raise api.unauthorized()
        return self.state.users[user_id], kind


def _params(record: RecordedRequest) -> dict[str, Any]:
    """Query parameters (``name[]`` repeated as a list) merged with the body, the body winning."""
    params: dict[str, Any] = {
        key: values if key.endswith("[]") else values[-1] for key, values in record.query.items()
    }
    if isinstance(record.body, dict):
        params.update(record.body)
    return params


def _decode(raw: bytes, content_type: str) -> Any:
    """A JSON or form body; None when empty or not valid (answered 400)."""
    if not raw.strip():
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        return {k: v if k.endswith("[]") else v[-1] for k, v in form.items()}
    try:
        return json.loads(raw)
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitLab
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def _serve(self) -> None:
        fake = self.fake
        parts = urllib.parse.urlsplit(self.path)
        root = fake.prefix + API
        route = parts.path[len(root) :] if parts.path.startswith(root + "/") else ""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        record = RecordedRequest(
            self.command,
            parts.path,
            route,
            urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            _decode(raw, self.headers.get("Content-Type") or ""),
            dict(self.headers.items()),
            raw,
        )
        fault = fake.record(record)
        if fault is not None and fault.kind == "hang":
            fake._release.wait(fault.hold)
            self.close_connection = True  # nothing done, nothing sent
            return
        if fault is not None and fault.kind == "status":
            reply = Reply(fault.status, fault.body, fault.headers)
        else:
            reply = fake.answer(record, self.headers.get("Host") or f"127.0.0.1:{fake.port}")
        record.status = reply.status
        if fault is not None and fault.kind == "lost":
            self.close_connection = True  # the work is done; the answer never leaves
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.status == 204:
            data = b""
        elif isinstance(reply.body, str):
            data = reply.body.encode()
        else:
            data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json", **reply.headers}
        headers["Content-Length"] = str(len(data))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is ``FakeGitLab.requests``."""
