"""The fake GitHub server, driven by real PyGithub (and raw HTTP where PyGithub hides the wire)."""

from __future__ import annotations

import json
import re
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests
from github import (
    BadCredentialsException,
    Github,
    GithubException,
    GithubRetry,
    UnknownObjectException,
)
from urllib3 import Retry

from tests import fakegithub
from tests.fakegithub import ACTIONS_TOKEN, FakeGitHub, Repo, api
from tests.repos import commit_all, git, make_repo_with_bare_remote

OPENAPI = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/github/openapi/api.github.com.subset.json"
)
MAIN, FEATURE = "a" * 40, "b" * 40


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Repo:
    """``octocat/demo`` without git: branches ``main`` and ``feature`` at made-up shas."""
    demo = fake_github.state.add_repo("octocat/demo")
    demo.branches.update(main=MAIN, feature=FEATURE)
    for login, role in [("alice", "write"), ("bob", "read"), ("carol", "maintain")]:
        fake_github.state.set_permission("octocat/demo", login, role)
    return demo


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Github:
    return fake_github.client()


def raw(server: FakeGitHub, method: str, path: str, body: Any = None, token: str = "t") -> Any:
    """One request without PyGithub: the requests.Response."""
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(method, server.url + path, json=body, headers=headers, timeout=10)


# --- against a real bare repository -------------------------------------------------------------


@pytest.fixture
def pushed(tmp_path: Path, fake_github: FakeGitHub) -> tuple[Path, Path]:
    """A work repository whose ``feature`` branch (one commit ahead of main) is pushed to the bare
    remote that backs ``octocat/demo``."""
    work, bare = make_repo_with_bare_remote(tmp_path)
    git(work, "checkout", "--quiet", "-b", "feature")
    (work / "model.txt").write_text("v1\n")
    commit_all(work, "Train a better model")
    git(work, "push", "--quiet", "origin", "feature")
    fake_github.state.add_repo("octocat/demo", bare=bare)
    fake_github.state.set_permission("octocat/demo", "alice", "write")
    return work, bare


@pytest.mark.slow
def test_pull_request_life_on_a_real_bare_repo(
    pushed: tuple[Path, Path], fake_github: FakeGitHub, gh: Github
) -> None:
    work, _ = pushed
    demo = gh.get_repo("octocat/demo")
    assert (demo.default_branch, demo.private) == ("main", True)
    assert [b.name for b in demo.get_branches()] == ["feature", "main"]
    assert demo.get_branch("feature").commit.commit.message == "Train a better model"

    pr = demo.create_pull(base="main", head="feature", title="Promote run 1", body="report")
    assert (pr.number, pr.user.login, pr.state, pr.draft) == (1, "octocat", "open", False)
    assert pr.head.sha == git(work, "rev-parse", "HEAD").strip()
    assert (pr.head.ref, pr.head.label, pr.base.ref) == ("feature", "octocat:feature", "main")
    assert pr.html_url == f"{fake_github.url}/octocat/demo/pull/1"
    assert [p.number for p in demo.get_pulls(state="open", head="octocat:feature")] == [1]
    assert list(demo.get_pulls(state="open", head="octocat:other")) == []
    assert list(demo.get_pulls(state="closed", head="octocat:feature")) == []

    pr.edit(body="new report")
    pr.set_labels("promotion", "model")
    pr.create_review_request(reviewers=["alice"])
    pr.add_to_assignees("alice")
    comment = pr.create_issue_comment("<!-- promoter:summary -->\nhello")
    assert comment.create_reaction("rocket").content == "rocket"
    assert pr.as_issue().create_reaction("eyes").content == "eyes"

    again = demo.get_pull(1)
    assert again.body == "new report"
    assert [label.name for label in again.labels] == ["promotion", "model"]
    assert [u.login for u in again.requested_reviewers] == ["alice"]
    assert [u.login for u in again.assignees] == ["alice"]
    [first] = again.get_issue_comments()
    assert first.body.startswith("<!-- promoter:summary -->")
    assert [r.content for r in comment.get_reactions()] == ["rocket"]

    # The fake reads branches live: a new push moves the pull request's head.
    (work / "model.txt").write_text("v2\n")
    new_sha = commit_all(work, "Retrain")
    git(work, "push", "--quiet", "origin", "feature")
    assert demo.get_pull(1).head.sha == new_sha == demo.get_git_ref("heads/feature").object.sha
    assert demo.get_commit(new_sha).commit.message == "Retrain"

    issue = fake_github.state.repo("octocat/demo").issues[1]
    assert issue.labels == ["promotion", "model"]
    assert issue.pull is not None and issue.pull.requested_reviewers == ["alice"]
    assert not fake_github.unknown_requests


@pytest.mark.slow
def test_pull_requests_git_refuses(pushed: tuple[Path, Path], gh: Github) -> None:
    work, _ = pushed
    demo = gh.get_repo("octocat/demo")
    with pytest.raises(GithubException) as missing:
        demo.create_pull(base="main", head="never-pushed", title="t", body="b")
    assert missing.value.status == 422
    assert missing.value.data["message"] == "Validation Failed"
    assert missing.value.data["errors"] == [
        {"resource": "PullRequest", "field": "head", "code": "invalid"}
    ]
    git(work, "push", "--quiet", "origin", "main:same-as-main")
    with pytest.raises(GithubException, match="No commits between main and same-as-main"):
        demo.create_pull(base="main", head="same-as-main", title="t", body="b")
    demo.create_pull(base="main", head="octocat:feature", title="t", body="b")
    with pytest.raises(GithubException, match="A pull request already exists for octocat:feature"):
        demo.create_pull(base="main", head="feature", title="t", body="b")


# --- pulls, issues, labels, reviewers, assignees without git ------------------------------------


def test_head_filter_needs_its_owner_prefix(repo: Repo, gh: Github) -> None:
    repo.branches["other"] = "c" * 40
    demo = gh.get_repo("octocat/demo")
    demo.create_pull(base="main", head="feature", title="one", body="")
    demo.create_pull(base="main", head="other", title="two", body="")
    # Without "owner:", GitHub ignores the filter and lists every pull request: a known trap.
    assert [p.title for p in demo.get_pulls(head="feature")] == ["two", "one"]
    assert [p.title for p in demo.get_pulls(head="octocat:feature")] == ["one"]
    assert [p.title for p in demo.get_pulls(head="someone-else:feature")] == []
    assert [p.title for p in demo.get_pulls(base="main", direction="asc")] == ["one", "two"]


def test_edit_close_reopen_and_draft(repo: Repo, gh: Github) -> None:
    demo = gh.get_repo("octocat/demo")
    pr = demo.create_pull(base="main", head="feature", title="t", body="b", draft=True)
    assert pr.draft
    pr.edit(title="new title", state="closed")
    assert (pr.title, pr.state) == ("new title", "closed")
    assert pr.closed_at is not None
    assert demo.get_issue(pr.number).state == "closed"
    assert list(demo.get_pulls(state="open")) == []
    demo.get_issue(pr.number).edit(state="open")
    assert demo.get_pull(pr.number).state == "open"
    with pytest.raises(GithubException) as bad:
        pr.edit(base="no-such-branch")
    assert bad.value.status == 422


def test_labels(repo: Repo, gh: Github, fake_github: FakeGitHub) -> None:
    pr = gh.get_repo("octocat/demo").create_pull(base="main", head="feature", title="t", body="")
    pr.add_to_labels("a", "b")
    pr.add_to_labels("b", "c")
    assert [label.name for label in pr.get_labels()] == ["a", "b", "c"]
    pr.remove_from_labels("b")
    assert repo.issues[pr.number].labels == ["a", "c"]
    with pytest.raises(GithubException, match="Label does not exist") as gone:
        pr.remove_from_labels("b")  # GitHub's message: not an UnknownObjectException
    assert gone.value.status == 404
    pr.set_labels("z")
    assert repo.issues[pr.number].labels == ["z"]
    assert set(repo.labels) == {"a", "b", "c", "z"}  # applying a label creates it
    pr.as_issue().edit(labels=["x y"])
    assert [label.name for label in pr.get_labels()] == ["x y"]
    pr.remove_from_labels("x y")
    pr.delete_labels()
    assert repo.issues[pr.number].labels == []
    made = gh.get_repo("octocat/demo").create_label("promotion", "00ff00", "by promoter")
    assert (made.name, made.color) == ("promotion", "00ff00")
    assert gh.get_repo("octocat/demo").get_label("promotion").description == "by promoter"
    assert not fake_github.unknown_requests


def test_reviewers_and_assignees(repo: Repo, gh: Github, fake_github: FakeGitHub) -> None:
    repo.teams.add("ml-team")
    pr = gh.get_repo("octocat/demo").create_pull(base="main", head="feature", title="t", body="")
    pr.create_review_request(reviewers=["alice", "carol"], team_reviewers=["ml-team"])
    users, teams = pr.get_review_requests()
    assert [u.login for u in users] == ["alice", "carol"]
    assert [t.slug for t in teams] == ["ml-team"]
    with pytest.raises(GithubException, match="not a collaborator of the octocat/demo"):
        pr.create_review_request(reviewers=["mallory"])
    with pytest.raises(GithubException, match="cannot be requested from pull request author"):
        pr.create_review_request(reviewers=["octocat"])
    pr.delete_review_request(reviewers=["carol"])
    assert [u.login for u in pr.get_review_requests()[0]] == ["alice"]

    fake_github.state.add_user("mallory")
    pr.add_to_assignees("alice", "mallory")  # GitHub drops who cannot be assigned
    assert [u.login for u in pr.assignees] == ["alice"]
    pr.remove_from_assignees("alice")
    assert repo.issues[pr.number].assignees == []


def test_comments_paginate_edit_and_delete(repo: Repo, gh: Github, fake_github: FakeGitHub) -> None:
    issue = fake_github.state.add_issue("octocat/demo", "Promote nightly")
    for n in range(75):
        repo.comments[n + 1] = fakegithub.Comment(n + 1, issue.number, "alice", f"comment {n}")
    comments = gh.get_repo("octocat/demo").get_issue(issue.number).get_comments()
    assert comments.totalCount == 75
    assert [c.body for c in comments] == [f"comment {n}" for n in range(75)]
    assert len(fake_github.calls("GET", r"/issues/1/comments$")) == 4  # totalCount, 3 pages

    first = raw(fake_github, "GET", "/repos/octocat/demo/issues/1/comments")
    assert len(first.json()) == 30
    assert 'page=2>; rel="next"' in first.headers["Link"]
    assert 'page=3>; rel="last"' in first.headers["Link"]
    last = raw(fake_github, "GET", "/repos/octocat/demo/issues/1/comments?per_page=50&page=2")
    assert len(last.json()) == 25
    assert 'rel="next"' not in last.headers["Link"]
    assert 'page=1>; rel="first"' in last.headers["Link"]

    comment = gh.get_repo("octocat/demo").get_issue(1).create_comment("mine")
    comment.edit("edited")
    assert repo.comments[comment.id].body == "edited"
    assert gh.get_repo("octocat/demo").get_issue(1).get_comment(comment.id).body == "edited"
    comment.delete()
    assert comment.id not in repo.comments


def test_reactions_are_201_when_new_and_200_when_repeated(
    repo: Repo, fake_github: FakeGitHub
) -> None:
    issue = fake_github.state.add_issue("octocat/demo", "t")
    comment = raw(fake_github, "POST", "/repos/octocat/demo/issues/1/comments", {"body": "hi"})
    url = f"/repos/octocat/demo/issues/comments/{comment.json()['id']}/reactions"
    first = raw(fake_github, "POST", url, {"content": "+1"})
    again = raw(fake_github, "POST", url, {"content": "+1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert raw(fake_github, "POST", url, {"content": "thumbsup"}).status_code == 422
    on_issue = raw(
        fake_github, "POST", "/repos/octocat/demo/issues/1/reactions", {"content": "eyes"}
    )
    assert on_issue.status_code == 201
    assert [r.content for r in issue.reactions] == ["eyes"]
    got = raw(fake_github, "GET", "/repos/octocat/demo/issues/1").json()
    assert (got["reactions"]["eyes"], got["reactions"]["total_count"]) == (1, 1)
    rid = first.json()["id"]
    assert raw(fake_github, "DELETE", f"{url}/{rid}").status_code == 204
    assert raw(fake_github, "GET", url).json() == []


@pytest.mark.parametrize(
    ("role", "permission"),
    [
        ("admin", "admin"),
        ("maintain", "write"),
        ("write", "write"),
        ("triage", "read"),
        ("read", "read"),
        (None, "none"),
    ],
)
def test_collaborator_permission(
    repo: Repo, gh: Github, fake_github: FakeGitHub, role: str | None, permission: str
) -> None:
    fake_github.state.set_permission("octocat/demo", "dave", role)
    demo = gh.get_repo("octocat/demo")
    assert demo.get_collaborator_permission("dave") == permission
    assert demo.get_collaborator_role_name("dave") == (role or "none")
    data = raw(fake_github, "GET", "/repos/octocat/demo/collaborators/dave/permission").json()
    assert data["user"]["login"] == "dave"
    assert data["user"]["role_name"] == (role or "none")
    assert data["user"]["permissions"]["push"] is (permission in ("admin", "write"))


def test_collaborator_permission_edges(repo: Repo, gh: Github, fake_github: FakeGitHub) -> None:
    demo = gh.get_repo("octocat/demo")
    with pytest.raises(UnknownObjectException):
        demo.get_collaborator_permission("nobody-at-all")
    fake_github.state.set_permission("octocat/demo", "erin", "release", base="write")
    assert demo.get_collaborator_permission("erin") == "write"
    assert demo.get_collaborator_role_name("erin") == "release"
    public = fake_github.state.add_repo("octocat/public", private=False)
    public.branches["main"] = MAIN
    fake_github.state.add_user("frank")
    assert gh.get_repo("octocat/public").get_collaborator_permission("frank") == "read"
    # Only users with push access may ask; the Actions token may.
    fake_github.state.add_token("bob-token", "bob")
    as_bob = fake_github.client("bob-token").get_repo("octocat/demo")
    with pytest.raises(GithubException, match="Must have push access"):
        as_bob.get_collaborator_permission("alice")
    as_actions = fake_github.client(ACTIONS_TOKEN).get_repo("octocat/demo")
    assert as_actions.get_collaborator_permission("alice") == "write"


def test_body_limit(repo: Repo, gh: Github) -> None:
    demo = gh.get_repo("octocat/demo")
    with pytest.raises(GithubException, match="body is too long"):
        demo.create_pull(base="main", head="feature", title="t", body="x" * 65537)
    pr = demo.create_pull(base="main", head="feature", title="t", body="x" * 65536)
    with pytest.raises(GithubException, match="body is too long"):
        pr.create_issue_comment("y" * 65537)


# --- identity, tokens, Actions ------------------------------------------------------------------


def test_tokens_and_authors(repo: Repo, fake_github: FakeGitHub) -> None:
    assert fake_github.client().get_user().login == "octocat"
    with pytest.raises(BadCredentialsException):
        fake_github.client("wrong").get_repo("octocat/demo")
    assert raw(fake_github, "GET", "/user", token="").json()["message"] == "Requires authentication"
    fake_github.state.add_token("alice-token", "alice")
    pr = (
        fake_github.client("alice-token")
        .get_repo("octocat/demo")
        .create_pull(base="main", head="feature", title="t", body="")
    )
    assert (pr.user.login, pr.user.type) == ("alice", "User")
    assert repo.issues[pr.number].user == "alice"


def test_actions_may_be_forbidden_to_open_pull_requests(
    repo: Repo, fake_github: FakeGitHub
) -> None:
    as_actions = fake_github.client(ACTIONS_TOKEN).get_repo("octocat/demo")
    fake_github.state.actions_cannot_create_prs = True
    with pytest.raises(GithubException) as refused:
        as_actions.create_pull(base="main", head="feature", title="t", body="")
    assert refused.value.status == 403
    assert refused.value.data["message"] == (
        "GitHub Actions is not permitted to create or approve pull requests."
    )
    fake_github.client().get_repo("octocat/demo").create_pull(  # a PAT still may
        base="main", head="feature", title="t", body=""
    )
    fake_github.state.actions_cannot_create_prs = False
    repo.branches["other"] = "c" * 40
    pr = as_actions.create_pull(base="main", head="other", title="t", body="")
    assert (pr.user.login, pr.user.type) == ("github-actions[bot]", "Bot")


def test_every_request_is_recorded(repo: Repo, gh: Github, fake_github: FakeGitHub) -> None:
    gh.get_repo("octocat/demo").create_pull(base="main", head="feature", title="t", body="b")
    post = fake_github.calls("POST", r"/pulls$")[0]
    assert post.body == {"title": "t", "body": "b", "base": "main", "head": "feature"}
    assert post.header("authorization") == "token t"
    assert (post.header("User-Agent") or "").startswith("PyGithub")
    assert (post.status, post.known, post.fault) == (201, True, False)
    assert raw(fake_github, "GET", "/repos/octocat/demo/secrets?x=1").status_code == 404
    [unknown] = fake_github.unknown_requests
    assert (unknown.route, unknown.query) == ("/repos/octocat/demo/secrets", {"x": ["1"]})
    assert raw(fake_github, "GET", "/repos/octocat/nope").json()["message"] == "Not Found"


def test_enterprise_prefix(repo: Repo, fake_github: FakeGitHub) -> None:
    gh = fake_github.client(enterprise=True)
    pr = gh.get_repo("octocat/demo").create_pull(base="main", head="feature", title="t", body="")
    assert pr.url == f"{fake_github.url}/api/v3/repos/octocat/demo/pulls/1"
    assert pr.html_url == f"{fake_github.url}/octocat/demo/pull/1"
    for n in range(35):
        pr.create_issue_comment(f"c{n}")
    assert len(list(pr.get_issue_comments())) == 35  # the Link header keeps the prefix
    pr.set_labels("x")
    assert all(r.path.startswith("/api/v3/") for r in fake_github.requests)
    assert not fake_github.unknown_requests


def test_malformed_json_and_bugs_in_the_fake(repo: Repo, fake_github: FakeGitHub) -> None:
    url = f"{fake_github.url}/repos/octocat/demo/issues/1/comments"
    bad = requests.post(url, data=b"{nope", headers={"Authorization": "token t"}, timeout=10)
    assert (bad.status_code, bad.json()["message"]) == (400, "Problems parsing JSON")
    issue = fake_github.state.add_issue("octocat/demo", "t")
    issue.labels.append("never-created")  # a state no handler can render
    assert raw(fake_github, "GET", "/repos/octocat/demo/issues/1").status_code == 500
    assert [type(e) for e in fake_github.errors] == [KeyError]
    fake_github.errors.clear()  # else the fixture fails the test


# --- faults and PyGithub's retries -------------------------------------------------------------


def test_502_then_success_is_retried_by_github_retry(repo: Repo, fake_github: FakeGitHub) -> None:
    fake_github.fail_next("POST", r"/pulls$", status=502)
    gh = fake_github.client(retry=GithubRetry(total=3, backoff_factor=0))
    pr = gh.get_repo("octocat/demo").create_pull(base="main", head="feature", title="t", body="")
    assert pr.number == 1
    assert [r.status for r in fake_github.calls("POST", r"/pulls$")] == [502, 201]
    assert len(repo.pulls) == 1 and not fake_github.faults


def test_what_is_not_retried(repo: Repo, fake_github: FakeGitHub) -> None:
    # urllib3's own Retry leaves POST alone (not idempotent): the 502 reaches the caller.
    fake_github.fail_next("POST", r"/pulls$", status=502)
    plain = fake_github.client(retry=Retry(total=3, status_forcelist=[502], backoff_factor=0))
    with pytest.raises(GithubException) as failed:
        plain.get_repo("octocat/demo").create_pull(base="main", head="feature", title="t", body="")
    assert failed.value.status == 502
    # GithubRetry adds GET and POST to urllib3's idempotent methods, but not PATCH.
    gh = fake_github.client(retry=GithubRetry(total=3, backoff_factor=0))
    pr = gh.get_repo("octocat/demo").create_pull(base="main", head="feature", title="t", body="")
    fake_github.fail_next("PATCH", r"/pulls/1$", status=502)
    with pytest.raises(GithubException) as patch_failed:
        pr.edit(body="x")
    assert patch_failed.value.status == 502
    # A planned 401 is not retried either.
    fake_github.fail_next("GET", r"/pulls/1$", status=401)
    with pytest.raises(BadCredentialsException):
        gh.get_repo("octocat/demo").get_pull(1)
    assert len(fake_github.calls("GET", r"/pulls/1$")) == 1


def test_exhausted_retries_raise_requests_retry_error(repo: Repo, fake_github: FakeGitHub) -> None:
    # Not a GithubException: callers that only catch those miss it.
    fake_github.fail_next("GET", r"/demo$", status=502, times=4)
    gh = fake_github.client(retry=GithubRetry(total=3, backoff_factor=0))
    with pytest.raises(requests.exceptions.RetryError, match="too many 502 error responses"):
        gh.get_repo("octocat/demo")
    assert [r.status for r in fake_github.calls()] == [502] * 4


def test_secondary_rate_limit_with_retry_after(repo: Repo, fake_github: FakeGitHub) -> None:
    fake_github.rate_limit_next("POST", r"/issues/\d+/comments$", retry_after=1)
    issue = fake_github.state.add_issue("octocat/demo", "t")
    gh = fake_github.client(retry=GithubRetry(total=3, backoff_factor=0))
    target = gh.get_repo("octocat/demo").get_issue(issue.number)
    started = time.monotonic()
    target.create_comment("hello")
    assert time.monotonic() - started >= 0.9  # urllib3 slept the Retry-After seconds
    assert [r.status for r in fake_github.calls("POST", "/comments$")] == [403, 201]


def test_secondary_rate_limit_without_retry_after(repo: Repo, fake_github: FakeGitHub) -> None:
    fake_github.rate_limit_next("GET", r"/pulls$", retry_after=None)
    # Without Retry-After, GithubRetry reads the message and waits secondary_rate_wait (60 s
    # by default); with retries off, PyGithub raises RateLimitExceededException.
    gh = fake_github.client(retry=GithubRetry(total=3, backoff_factor=0, secondary_rate_wait=0.1))
    assert list(gh.get_repo("octocat/demo").get_pulls()) == []
    assert [r.status for r in fake_github.calls("GET", r"/pulls$")] == [403, 200]
    fake_github.rate_limit_next("GET", r"/pulls$", retry_after=None)
    with pytest.raises(GithubException) as limited:
        list(fake_github.client().get_repo("octocat/demo").get_pulls())
    assert type(limited.value).__name__ == "RateLimitExceededException"


def test_a_held_request_is_never_answered(repo: Repo, fake_github: FakeGitHub) -> None:
    fake_github.hold_next("GET", r"/pulls$")
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(fake_github.url + "/repos/octocat/demo/pulls", timeout=0.5)
    assert 0.4 < time.monotonic() - started < 5
    assert [r.status for r in fake_github.calls("GET", r"/pulls$")] == [0]
    assert raw(fake_github, "GET", "/repos/octocat/demo/pulls").status_code == 200


def test_a_lost_answer_after_the_write(repo: Repo, fake_github: FakeGitHub) -> None:
    seen: list[str] = []
    fake_github.lose_answer_next("POST", r"/pulls$", then=lambda r: seen.append(r.route))
    body = {"base": "main", "head": "feature", "title": "t"}
    with pytest.raises(requests.exceptions.ConnectionError):
        raw(fake_github, "POST", "/repos/octocat/demo/pulls", body)
    assert len(repo.pulls) == 1, "the write took effect"
    assert seen == ["/repos/octocat/demo/pulls"]
    (lost,) = fake_github.calls("POST", r"/pulls$")
    assert (lost.status, lost.effect, lost.fault) == (0, 201, True)
    assert raw(fake_github, "POST", "/repos/octocat/demo/pulls", body).status_code == 422


# --- response shapes against GitHub's OpenAPI description --------------------------------------


@cache
def _spec() -> dict[str, Any]:
    return dict(json.loads(OPENAPI.read_text()))


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = _spec()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema``: required properties, JSON types, enums, recursively."""
    schema = _resolve(schema)
    alternatives = [_resolve(s) for s in schema.get("anyOf", []) + schema.get("oneOf", [])]
    if value is None:
        nullable = schema.get("nullable") or any(s.get("nullable") for s in alternatives)
        nullable = nullable or any(_resolve(s).get("nullable") for s in schema.get("allOf", []))
        return [] if nullable or not schema else [f"{where}: null"]
    errors = [e for s in schema.get("allOf", []) for e in schema_errors(value, s, where)]
    if alternatives and all(schema_errors(value, s, where) for s in alternatives):
        errors.append(f"{where}: matches none of anyOf/oneOf")
    kind = schema.get("type")
    wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
    if kind in _TYPES and (not isinstance(value, _TYPES[kind]) or wrong_bool):
        return [*errors, f"{where}: {type(value).__name__}, not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        errors += [
            f"{where}.{key}: missing" for key in schema.get("required", []) if key not in value
        ]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{where}[{n}]")
    return errors


def _response_schema(method: str, template: str, status: int) -> dict[str, Any]:
    response = _resolve(_spec()["paths"][template][method.lower()]["responses"][str(status)])
    return dict(response["content"]["application/json"]["schema"])


def _sample_path(template: str) -> str:
    values = {"owner": "o", "repo": "r", "ref": "heads/x", "path": "a.txt", "name": "bug"}
    path = template
    for key, value in values.items():
        path = path.replace(f"{{{key}}}", value)
    for key in ("pull_number", "issue_number", "comment_id", "username"):
        path = path.replace(f"{{{key}}}", "1")
    return path


# One request per line: METHOD PATH STATUS [JSON body]. "R" is /repos/{owner}/{repo}; each
# "{param=value}" is the description's path parameter and the value sent; ID is a comment's id.
SHAPE_CASES = """
POST   R/pulls                                      201 {"title":"t","head":"feature","base":"main"}
POST   R/pulls                                      422 {"title":"t","head":"feature","base":"main"}
GET    R                                            200
GET    /repos/{owner=octocat}/{repo=missing}        404
GET    R/pulls?head=octocat:feature                 200
GET    R/pulls/{pull_number=2}                      200
GET    R/pulls/{pull_number=99}                     404
PATCH  R/pulls/{pull_number=2}                      200 {"body": "new"}
POST   R/pulls/{pull_number=2}/requested_reviewers  201 {"reviewers": ["alice"]}
POST   R/pulls/{pull_number=2}/requested_reviewers  201 {"team_reviewers": ["ml"]}
GET    R/pulls/{pull_number=2}/requested_reviewers  200
DELETE R/pulls/{pull_number=2}/requested_reviewers  200 {"reviewers": ["alice"]}
POST   R/issues/{issue_number=2}/comments           201 {"body": "c"}
GET    R/issues/{issue_number=2}/comments           200
GET    R/issues/comments/{comment_id=ID}            200
PATCH  R/issues/comments/{comment_id=ID}            200 {"body": "edited"}
POST   R/issues/{issue_number=2}/labels             200 ["bug"]
PUT    R/issues/{issue_number=2}/labels             200 {"labels": ["a"]}
GET    R/issues/{issue_number=2}/labels             200
DELETE R/issues/{issue_number=2}/labels/{name=a}    200
POST   R/labels                                     201 {"name": "ready"}
GET    R/labels                                     200
GET    R/labels/{name=ready}                        200
POST   R/issues/comments/{comment_id=ID}/reactions  201 {"content": "heart"}
POST   R/issues/comments/{comment_id=ID}/reactions  200 {"content": "heart"}
GET    R/issues/comments/{comment_id=ID}/reactions  200
POST   R/issues/{issue_number=2}/reactions          201 {"content": "hooray"}
GET    R/collaborators/{username=carol}/permission  200
GET    R/collaborators/{username=ghost}/permission  404
GET    R/git/ref/{ref=heads/feature}                200
GET    R/git/ref/{ref=heads/gone}                   404
"""


@pytest.mark.skipif(not OPENAPI.is_file(), reason="the shared fixtures are absent")
def test_responses_match_the_openapi_description(repo: Repo, fake_github: FakeGitHub) -> None:
    repo.teams.add("ml")
    fake_github.state.add_issue("octocat/demo", "an issue", "body")  # #1; the pull request is #2
    checked, problems, comment_id = set(), [], ""
    for line in SHAPE_CASES.strip().splitlines():
        method, spec_path, status, *body = line.replace(
            "R", "/repos/{owner=octocat}/{repo=demo}", 1
        ).split(maxsplit=3)
        template = re.sub(r"\{(\w+)=[^}]*\}", r"{\1}", spec_path.partition("?")[0])
        path = re.sub(r"\{\w+=([^}]*)\}", r"\1", spec_path).replace("ID", comment_id)
        answer = raw(fake_github, method, path, json.loads(body[0]) if body else None)
        assert answer.status_code == int(status), (line, answer.text)
        if method == "POST" and template.endswith("/comments"):
            comment_id = str(answer.json()["id"])
        schema = _response_schema(method, template, int(status))
        problems += [f"{method} {path}: {e}" for e in schema_errors(answer.json(), schema)]
        checked.add((method, template))
    # Endpoints outside the subset, against the closest schema it has.
    components = _spec()["components"]["schemas"]
    issue = components["webhook-issue-comment-created"]["properties"]["issue"]
    for path, schema in [("/user", components["simple-user"])] + [
        (f"/repos/octocat/demo/issues/{n}", issue) for n in (1, 2)
    ]:
        got = raw(fake_github, "GET", path).json()
        problems += [f"GET {path}: {e}" for e in schema_errors(got, schema)]
    assert problems == []
    # Every operation of the description that the fake serves is among those checked.
    served = {
        (method.upper(), template)
        for template, operations in _spec()["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
        and api.find_route(method.upper(), _sample_path(template))
    }
    assert served - checked == set()
    assert not fake_github.errors
