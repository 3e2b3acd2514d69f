"""Faults a test plans for the next requests that match a method and a path regex.

Three kinds: ``status`` answers a planned status (a 5xx, GitLab's 429) without doing the work;
``lost`` does the work, then closes the connection without an answer (the client sees a
connection error although the merge request, note or award now exists); ``hang`` holds the
request without doing anything, for a bounded time, then closes the connection (the client
times out). Each planned fault is used once.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any

MAX_HOLD = 30.0  # a "hang" never holds a request longer, whatever a test asks
RATE_LIMITED = "Retry later\n"  # the plain-text body of GitLab's throttle (Rack::Attack)
_MESSAGES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable",
}


@dataclass
class Fault:
    """What to do with the next request matching ``method`` and ``pattern``."""

    method: str
    pattern: re.Pattern[str]
    kind: str  # "status", "lost" or "hang"
    status: int = 0
    body: Any = None  # JSON, or text for a text/plain answer
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0


class FaultPlan:
    """Planned faults, first planned first used; thread-safe."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self._lock = threading.Lock()

    def status(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer ``status`` (with GitLab's ``{"message": "502 Bad Gateway"}`` style body unless
        ``body`` is given) instead of doing the work."""
        if body is None:
            body = {"message": _MESSAGES.get(status, f"{status} Error")}
        self._add(
            Fault(method, re.compile(path_regex), "status", status, body, headers or {}), times
        )

    def rate_limit(
        self, method: str, path_regex: str, *, retry_after: int | None = 1, times: int = 1
    ) -> None:
        """GitLab's 429: ``Retry-After`` and the ``RateLimit-*`` headers when ``retry_after`` is
        given; with None, neither ``Retry-After`` nor ``RateLimit-Reset`` (clients then fall
        back on their own backoff)."""
        headers = {
            "Content-Type": "text/plain",
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": "2000",
            "RateLimit-Observed": "2001",
            "RateLimit-Remaining": "0",
        }
        if retry_after is not None:
            reset = int(time.time()) + retry_after
            headers["Retry-After"] = str(retry_after)
            headers["RateLimit-Reset"] = str(reset)
            headers["RateLimit-ResetTime"] = formatdate(reset, usegmt=True)
        fault = Fault(method, re.compile(path_regex), "status", 429, RATE_LIMITED, headers)
        self._add(fault, times)

    def lost(self, method: str, path_regex: str, *, times: int = 1) -> None:
        """Do the work, then close the connection without an answer."""
        self._add(Fault(method, re.compile(path_regex), "lost"), times)

    def hang(self, method: str, path_regex: str, *, hold: float = 5.0, times: int = 1) -> None:
        """Hold the request ``hold`` seconds (at most ``MAX_HOLD``, less when the server stops)
        without doing the work, then close the connection."""
        fault = Fault(method, re.compile(path_regex), "hang", hold=min(hold, MAX_HOLD))
        self._add(fault, times)

    def take(self, method: str, route: str) -> Fault | None:
        """The first planned fault for this request, removed from the plan; None if none."""
        with self._lock:
            for fault in self.pending:
                if fault.method == method and fault.pattern.search(route):
                    self.pending.remove(fault)
                    return fault
        return None

    def _add(self, fault: Fault, times: int) -> None:
        fault.method = fault.method.upper()
        with self._lock:
            self.pending += [replace(fault, headers=dict(fault.headers)) for _ in range(times)]
