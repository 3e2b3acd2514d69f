"""One stateful fake GitLab REST server for every test: python-gitlab runs unchanged against it.

    with FakeGitLab() as server:             # or the ``fake_gitlab`` fixture
        project = server.state.add_project("group/demo", bare=bare_repo_path)
        server.state.set_access(project, "alice", DEVELOPER)
        gl = server.client()                  # python-gitlab, DEFAULT_TOKEN (promoter-bot)
        gl.projects.get("group/demo").mergerequests.create({...})
        assert not server.unknown_requests

``state`` holds users, tokens, projects with their members, merge requests, issues, notes and
award emoji; ``fail_next``, ``rate_limit_next``, ``lose_answer_next`` and ``hang_next`` plan
faults; ``requests`` records every request. A project with a bare repository can also be cloned
and pushed to over HTTP with a token, at ``{url}/<path>.git`` (``http_url_to_repo``).

Modules: ``model`` (the objects), ``state`` (all of them, and helpers that seed them),
``shapes`` and ``issuable_shapes`` (GitLab's JSON for them), ``api`` (routing, errors,
pagination, permissions), ``projects``/``merge_requests``/``notes`` (the endpoints), ``auth``
(who calls), ``git_http`` (clone and push), ``faults`` (what a test plans), ``recording`` (the
request log's entries), ``server`` (HTTP).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakegitlab.faults import MAX_HOLD, Fault
from tests.fakegitlab.model import (
    DEFAULT_TOKEN,
    DEFAULT_USER,
    DEVELOPER,
    GUEST,
    JOB_TOKEN,
    MAINTAINER,
    OWNER,
    PLANNER,
    REPORTER,
    AwardEmoji,
    Issue,
    Label,
    Member,
    MergeRequest,
    Note,
    Project,
    User,
)
from tests.fakegitlab.recording import RecordedRequest
from tests.fakegitlab.server import SELF_MANAGED_PREFIX, FakeGitLab
from tests.fakegitlab.state import State

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "DEVELOPER",
    "GUEST",
    "JOB_TOKEN",
    "MAINTAINER",
    "MAX_HOLD",
    "OWNER",
    "PLANNER",
    "REPORTER",
    "SELF_MANAGED_PREFIX",
    "AwardEmoji",
    "FakeGitLab",
    "Fault",
    "Issue",
    "Label",
    "Member",
    "MergeRequest",
    "Note",
    "Project",
    "RecordedRequest",
    "State",
    "User",
    "fake_gitlab",
]


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    """A started fake GitLab with ``root`` (id 1) and the bot ``promoter-bot`` (``DEFAULT_TOKEN``,
    ``JOB_TOKEN``); no projects yet.

    Fails the test if a handler raised (a bug in the fake, answered as a 500)."""
    with FakeGitLab() as server:
        yield server
    assert not server.errors, f"the fake GitLab failed: {server.errors!r}"
