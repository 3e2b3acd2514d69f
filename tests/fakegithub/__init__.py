"""One stateful fake GitHub REST server for every test: PyGithub runs unchanged against it.

    with FakeGitHub() as server:            # or the ``fake_github`` fixture
        server.state.add_repo("octocat/demo", bare=bare_repo_path)
        gh = server.client()                # PyGithub, token "t" (octocat), no retries
        gh.get_repo("octocat/demo").create_pull(...)
        assert not server.unknown_requests

``state`` holds users, tokens, repositories, pulls, comments; ``fail_next``,
``rate_limit_next``, ``hold_next`` (a server that never answers) and ``lose_answer_next`` (the
write done, the answer lost) plan faults; ``requests`` records every request.

Modules: ``state`` (the data), ``shapes`` (GitHub's JSON for it), ``api`` (routing, errors,
pagination), ``repositories``/``pulls``/``issues`` (the endpoints), ``server`` (HTTP, auth,
faults, request log).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakegithub.server import (
    ENTERPRISE_PREFIX,
    SECONDARY_RATE_LIMIT,
    FakeGitHub,
    Fault,
    RecordedRequest,
)
from tests.fakegithub.state import (
    ACTIONS_BOT,
    ACTIONS_TOKEN,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    Comment,
    Issue,
    Label,
    Pull,
    Reaction,
    Repo,
    State,
    User,
)

__all__ = [
    "ACTIONS_BOT",
    "ACTIONS_TOKEN",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "ENTERPRISE_PREFIX",
    "SECONDARY_RATE_LIMIT",
    "Comment",
    "FakeGitHub",
    "Fault",
    "Issue",
    "Label",
    "Pull",
    "Reaction",
    "RecordedRequest",
    "Repo",
    "State",
    "User",
    "fake_github",
]


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A started fake GitHub with ``octocat`` (token ``t``) and the Actions bot; no repos yet.

    Fails the test if a handler raised (a bug in the fake, answered as a 500)."""
    with FakeGitHub() as server:
        yield server
    assert not server.errors, f"the fake GitHub failed: {server.errors!r}"
