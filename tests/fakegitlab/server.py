"""The HTTP side of the fake GitLab: a threaded stdlib server answering under
``[prefix]/api/v4``, with the request log and the planned faults."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tests.fakegitlab import api, git_http, merge_requests, notes, projects
from tests.fakegitlab.api import ApiError, Ctx, Reply
from tests.fakegitlab.auth import caller
from tests.fakegitlab.faults import Fault, FaultPlan
from tests.fakegitlab.model import DEFAULT_TOKEN
from tests.fakegitlab.recording import RecordedRequest, decode_body, params_of
from tests.fakegitlab.shapes import Urls
from tests.fakegitlab.state import State

if TYPE_CHECKING:
    from gitlab import Gitlab

ENDPOINTS = (projects, merge_requests, notes)  # importing them registers their routes
API = "/api/v4"
SELF_MANAGED_PREFIX = "/gitlab"  # a relative URL root, as CI_SERVER_URL may carry one
UNKNOWN_ROUTE = {"error": "404 Not Found"}  # GitLab's catch-all API route


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
        """Listen on a free port of 127.0.0.1 and serve from a daemon thread."""
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
        """Release held requests and stop serving."""
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
        """The port the server listens on."""
        assert self._httpd is not None, "the fake GitLab is not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The instance's URL, relative root included: python-gitlab's ``url``."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    @property
    def api_url(self) -> str:
        """The REST API root under ``url``: ``CI_API_V4_URL``."""
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
        """Forget the requests recorded so far."""
        with self._log_lock:
            self.requests.clear()

    # --- answering ----------------------------------------------------------------------------

    def record(self, record: RecordedRequest) -> Fault | None:
        """Log a request and take the planned fault it meets, if any."""
        with self._log_lock:
            self.requests.append(record)
        found = record.git or api.find_route(record.method, record.route) is not None
        record.known = bool(record.route) and found
        fault = self.plan.take(record.method, record.route) if record.route else None
        record.fault = fault.kind if fault else None
        return fault

    def hold(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the server stops: how a "hang" holds a request."""
        self._release.wait(seconds)

    def answer(self, record: RecordedRequest, host: str) -> Reply:
        """The reply to one request: authentication, then the route's handler (or git's)."""
        found = api.find_route(record.method, record.route) if record.route else None
        if found is None and not record.git:
            return Reply(404, UNKNOWN_ROUTE)
        try:
            if found is None:
                return git_http.serve(self.state, record)
            user, kind = caller(self.state, record)
            record.user = user.username if user else None
            if record.method != "GET" and user is None:
                raise api.unauthorized()
            if record.method != "GET" and kind == "job":  # CI_JOB_TOKEN cannot write here
                raise api.forbidden()
            if record.body is None and record.raw_body.strip():  # Grape's own answer
                raise ApiError(400, "message body does not match declared format", key="error")
            params = params_of(record)
            with self.state.lock:
                urls = Urls(f"http://{host}{self.prefix}")
                ctx = Ctx(self.state, urls, user, record.route, record.query, params)
                return api.call(ctx, *found)
        except ApiError as error:
            return Reply(error.status, error.body())
        except Exception as error:  # a bug in the fake: answer 500 and keep it for the test
            self.errors.append(error)
            return Reply(500, {"message": f"fake GitLab failed: {error!r}"})


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitLab
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def _serve(self) -> None:
        fake = self.fake
        parts = urllib.parse.urlsplit(self.path)
        root, web = fake.prefix + API, parts.path[len(fake.prefix) :]
        if parts.path.startswith(root + "/"):
            route = parts.path[len(root) :]
        else:
            route = web if parts.path.startswith(fake.prefix) and git_http.is_git(web) else ""
        raw = self._body()
        record = RecordedRequest(
            self.command,
            parts.path,
            route,
            urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            decode_body(raw, self.headers.get("Content-Type") or ""),
            dict(self.headers.items()),
            raw,
            git=bool(route) and not parts.path.startswith(root + "/"),
        )
        fault = fake.record(record)
        if fault is not None and fault.kind == "hang":
            fake.hold(fault.hold)
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

    def _body(self) -> bytes:
        """The request body: ``Content-Length`` bytes, or chunks (git sends big pushes so)."""
        if (self.headers.get("Transfer-Encoding") or "").lower() != "chunked":
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk
        while self.rfile.readline().strip():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _send(self, reply: Reply) -> None:
        if reply.status == 204:
            data = b""
        elif isinstance(reply.body, bytes):
            data = reply.body
        elif isinstance(reply.body, str):
            data = reply.body.encode()
        else:
            data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        kind = "text/plain" if isinstance(reply.body, str) else "application/json"
        headers = {"Content-Type": kind, **reply.headers}
        headers["Content-Length"] = str(len(data))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is ``FakeGitLab.requests``."""
