"""What the fake GitLab records of each request, and how it reads a request's parameters."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str  # as sent (prefix and /api/v4 included), without the query
    route: str  # after [prefix]/api/v4 (git requests: after [prefix]), still URL-encoded: what
    #             routes and faults match; "" when the request is neither
    query: dict[str, list[str]]
    body: Any  # the decoded JSON (or form) body, or None
    headers: dict[str, str]
    raw_body: bytes = b""
    status: int = 0  # for a lost answer, the status that was never sent; 0 for a hang
    known: bool = True  # False when no route serves it (answered 404)
    fault: str | None = None  # "status", "lost" or "hang" when a planned fault was used
    git: bool = False  # a git HTTP request (clone, fetch, push), not an API one
    user: str | None = None  # the username the credentials stand for, once checked

    def header(self, name: str) -> str | None:
        """A request header, by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def params_of(record: RecordedRequest) -> dict[str, Any]:
    """Query parameters (``name[]`` repeated as a list) merged with the body, the body winning."""
    params: dict[str, Any] = {
        key: values if key.endswith("[]") else values[-1] for key, values in record.query.items()
    }
    if isinstance(record.body, dict):
        params.update(record.body)
    return params


def decode_body(raw: bytes, content_type: str) -> Any:
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
