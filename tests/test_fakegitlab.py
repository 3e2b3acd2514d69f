"""The fake GitLab server, driven by real python-gitlab (and raw HTTP where python-gitlab hides
the wire)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import gitlab
import pytest
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabCreateError, GitlabGetError

from tests.fakegitlab import (
    DEFAULT_TOKEN,
    DEFAULT_USER,
    DEVELOPER,
    GUEST,
    JOB_TOKEN,
    MAINTAINER,
    MAX_HOLD,
    OWNER,
    PLANNER,
    REPORTER,
    SELF_MANAGED_PREFIX,
    FakeGitLab,
    Member,
    Project,
    api,
)
from tests.repos import commit_all, git, make_repo_with_bare_remote

EVENTS = Path(__file__).resolve().parents[2] / "shared/fixtures/gitlab/events"
MAIN, FEATURE, OTHER = "a" * 40, "b" * 40, "c" * 40


@pytest.fixture
def project(fake_gitlab: FakeGitLab) -> Project:
    """``group/demo`` without git: branches ``main``, ``feature`` and ``other`` at made-up shas;
    alice is a Developer, bob a Reporter, carol a Maintainer."""
    demo = fake_gitlab.state.add_project("group/demo")
    demo.branches.update(main=MAIN, feature=FEATURE, other=OTHER)
    for username, level in [("alice", DEVELOPER), ("bob", REPORTER), ("carol", MAINTAINER)]:
        fake_gitlab.state.set_access(demo, username, level)
    return demo


@pytest.fixture
def gl(fake_gitlab: FakeGitLab) -> gitlab.Gitlab:
    return fake_gitlab.client()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits python-gitlab's retries ask for, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def raw(
    server: FakeGitLab,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """One request under ``/api/v4`` without python-gitlab (``DEFAULT_TOKEN`` unless ``headers``
    say otherwise)."""
    sent = {"PRIVATE-TOKEN": DEFAULT_TOKEN} if headers is None else headers
    return requests.request(method, server.api_url + path, json=body, headers=sent, timeout=10)


def create(gl: gitlab.Gitlab, **fields: Any) -> Any:
    """An MR from ``feature`` to ``main`` in ``group/demo``, ``fields`` added or overriding."""
    data = {"source_branch": "feature", "target_branch": "main", "title": "Promote run 1"}
    return gl.projects.get("group/demo", lazy=True).mergerequests.create({**data, **fields})


# --- against a real bare repository -------------------------------------------------------------


@pytest.fixture
def pushed(tmp_path: Path, fake_gitlab: FakeGitLab) -> Path:
    """A work repository whose ``promote/train`` branch (one commit ahead of main) is pushed to
    the bare remote that backs ``group/demo``; alice is a Developer there."""
    work, bare = make_repo_with_bare_remote(tmp_path)
    git(work, "checkout", "--quiet", "-b", "promote/train")
    (work / "model.txt").write_text("v1\n")
    commit_all(work, "Train a better model")
    git(work, "push", "--quiet", "origin", "promote/train")
    demo = fake_gitlab.state.add_project("group/demo", bare=bare)
    fake_gitlab.state.set_access(demo, "alice", DEVELOPER)
    return work


@pytest.mark.slow
def test_merge_request_life_on_a_real_bare_repo(
    pushed: Path, fake_gitlab: FakeGitLab, gl: gitlab.Gitlab
) -> None:
    demo = gl.projects.get("group/demo")
    assert (demo.path_with_namespace, demo.default_branch) == ("group/demo", "main")
    assert demo.permissions["project_access"]["access_level"] == MAINTAINER
    assert sorted(b.name for b in demo.branches.list(get_all=True)) == ["main", "promote/train"]
    branch = demo.branches.get("promote/train")  # the slash travels URL-encoded
    assert branch.commit["title"] == "Train a better model"
    alice = gl.users.list(username="alice")[0]

    mr = demo.mergerequests.create(
        {
            "source_branch": "promote/train",
            "target_branch": "main",
            "title": "Promote train run 1",
            "description": "<!-- promoter:train -->\nreport",
            "labels": "model-promotion,train",
            "assignee_ids": [alice.id],
            "reviewer_ids": [alice.id],
            "remove_source_branch": True,
        }
    )
    head = git(pushed, "rev-parse", "HEAD").strip()
    assert (mr.iid, mr.project_id, mr.sha) == (1, demo.id, head)
    assert (mr.state, mr.draft, mr.work_in_progress) == ("opened", False, False)
    assert (mr.author["username"], mr.labels) == (DEFAULT_USER, ["model-promotion", "train"])
    assert [u["username"] for u in mr.assignees] == [u["username"] for u in mr.reviewers]
    assert mr.assignees[0]["username"] == "alice" and mr.force_remove_source_branch
    assert mr.web_url == f"{fake_gitlab.url}/group/demo/-/merge_requests/1"
    assert mr.diff_refs["head_sha"] == head and mr.changes_count == "1"
    opened = demo.mergerequests.list(state="opened", source_branch="promote/train", get_all=True)
    assert [m.iid for m in opened] == [1]

    # The fake reads branches live: a new push moves the merge request's head.
    (pushed / "model.txt").write_text("v2\n")
    new_head = commit_all(pushed, "Retrain")
    git(pushed, "push", "--quiet", "origin", "promote/train")
    assert demo.mergerequests.get(1).sha == new_head

    note = mr.notes.create({"body": "<!-- promoter:summary -->\nhello"})
    assert note.awardemojis.create({"name": "rocket"}).name == "rocket"
    mr.state_event = "close"
    mr.save()
    closed = demo.mergerequests.get(1)
    assert (closed.state, closed.closed_by["username"]) == ("closed", DEFAULT_USER)
    assert closed.closed_at is not None
    assert demo.mergerequests.list(state="opened", get_all=True) == []
    assert not fake_gitlab.unknown_requests


@pytest.mark.slow
def test_create_refusals_against_the_bare_repo(pushed: Path, gl: gitlab.Gitlab) -> None:
    demo = gl.projects.get("group/demo", lazy=True)
    with pytest.raises(GitlabCreateError) as missing:
        demo.mergerequests.create(
            {"source_branch": "never-pushed", "target_branch": "main", "title": "t"}
        )
    assert missing.value.response_code == 400
    assert json.loads(missing.value.response_body or b"") == {
        "message": {"source_branch": ["does not exist"]}
    }
    first = demo.mergerequests.create(
        {"source_branch": "promote/train", "target_branch": "main", "title": "t"}
    )
    with pytest.raises(GitlabCreateError) as conflict:
        demo.mergerequests.create(
            {"source_branch": "promote/train", "target_branch": "main", "title": "again"}
        )
    assert conflict.value.response_code == 409
    assert conflict.value.error_message == [
        f"Another open merge request already exists for this source branch: !{first.iid}"
    ]


# --- merge requests without git ------------------------------------------------------------------


def test_create_checks_and_their_answers(project: Project, fake_gitlab: FakeGitLab) -> None:
    def post(**fields: Any) -> tuple[int, Any]:
        data = {"source_branch": "feature", "target_branch": "main", "title": "t", **fields}
        sent = {key: value for key, value in data.items() if value is not None}
        answer = raw(fake_gitlab, "POST", f"/projects/{project.id}/merge_requests", sent)
        return answer.status_code, answer.json()

    same = ["You can't use same project/branch for source and target"]
    assert post(source_branch="main") == (422, {"message": same})
    missing = "title is missing, target_branch is missing"
    assert post(title=None, target_branch=None) == (400, {"error": missing})
    too_long = "is too long (maximum is {} characters)"
    assert post(title="t" * 256) == (400, {"message": {"title": [too_long.format(255)]}})
    long = post(description="x" * 1_048_577)
    assert long == (400, {"message": {"description": [too_long.format(1_048_576)]}})
    assert post(target_branch="gone") == (400, {"message": {"target_branch": ["does not exist"]}})
    assert project.merge_requests == {}
    assert post(description="x" * 1_048_576)[0] == 201


def test_update_close_reopen_and_conflicts(project: Project, gl: gitlab.Gitlab) -> None:
    mr = create(gl)
    mr.title, mr.description = "Promote run 2", "new body"
    mr.save()
    again = gl.projects.get(project.id).mergerequests.get(mr.iid)
    assert (again.title, again.description, again.state) == ("Promote run 2", "new body", "opened")
    mr.state_event = "close"
    mr.save()
    second = create(gl, title="a newer run")  # the closed one no longer blocks the branch
    mr.state_event = "reopen"
    with pytest.raises(gitlab.exceptions.GitlabUpdateError) as refused:
        mr.save()
    assert refused.value.response_code == 409
    assert refused.value.error_message == [
        f"Another open merge request already exists for this source branch: !{second.iid}"
    ]
    assert project.merge_requests[mr.iid].state == "closed"  # nothing of a refused update stays
    with pytest.raises(gitlab.exceptions.GitlabHttpError) as nothing:
        gl.http_put(f"/projects/{project.id}/merge_requests/{mr.iid}", post_data={})
    assert "at least one parameter must be provided" in str(nothing.value.error_message)
    with pytest.raises(GitlabGetError) as gone:
        gl.projects.get(project.id, lazy=True).mergerequests.get(99)
    assert (gone.value.response_code, gone.value.error_message) == (404, "404 Not found")


@pytest.mark.parametrize(
    ("title", "draft"),
    [
        ("Draft: promote run 1", True),
        ("[Draft] promote run 1", True),
        ("(draft) promote run 1", True),
        ("DRAFT:promote", True),
        ("Draft promote run 1", False),
        ("Promote run 1 Draft:", False),
        ("WIP: promote run 1", False),  # GitLab dropped the WIP prefix in 16.0
    ],
)
def test_draft_detection(project: Project, gl: gitlab.Gitlab, title: str, draft: bool) -> None:
    mr = create(gl, title=title)
    assert (mr.draft, mr.work_in_progress) == (draft, draft)
    assert mr.detailed_merge_status == ("draft_status" if draft else "mergeable")
    drafts = gl.projects.get(project.id, lazy=True).mergerequests.list(wip="yes", get_all=True)
    assert [m.iid for m in drafts] == ([mr.iid] if draft else [])


def test_labels_assignees_and_reviewers(
    project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab
) -> None:
    users = {u: fake_gitlab.state.user_named(u) for u in ("alice", "bob", "carol")}
    ids = {name: user.id for name, user in users.items() if user}
    outsider = fake_gitlab.state.add_user("mallory")
    mr = create(gl, labels=["train", "model-promotion"], assignee_ids=[ids["alice"], outsider.id])
    assert mr.labels == ["model-promotion", "train"]  # GitLab sorts them
    assert [u["username"] for u in mr.assignees] == ["alice"]  # who cannot read it is dropped
    mr.labels = ["z"]
    mr.reviewer_ids = [ids["bob"], ids["carol"]]
    mr.save()
    assert (mr.labels, [u["username"] for u in mr.reviewers]) == (["z"], ["bob", "carol"])
    gl.http_put(
        f"/projects/{project.id}/merge_requests/{mr.iid}",
        post_data={"add_labels": "a,b", "remove_labels": "z", "assignee_ids": []},
    )
    again = gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid)
    assert (again.labels, again.assignees, again.assignee) == (["a", "b"], [], None)
    made = gl.projects.get(project.id, lazy=True).labels.list(get_all=True)
    assert [label.name for label in made] == ["a", "b", "model-promotion", "train", "z"]
    mrs = gl.projects.get(project.id, lazy=True).mergerequests
    assert [m.iid for m in mrs.list(labels=["a", "b"], get_all=True)] == [mr.iid]


def test_list_filters_and_order(
    project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab
) -> None:
    state = fake_gitlab.state
    state.add_merge_request(project, "feature", "main", "one")
    state.add_merge_request(project, "other", "main", "two", state="closed")
    state.add_merge_request(project, "feature", "other", "three", state="merged")
    mrs = gl.projects.get(project.id, lazy=True).mergerequests
    assert [m.title for m in mrs.list(get_all=True)] == ["three", "two", "one"]  # all, newest first
    assert [m.title for m in mrs.list(state="opened", get_all=True)] == ["one"]
    assert [m.title for m in mrs.list(source_branch="feature", get_all=True)] == ["three", "one"]
    found = mrs.list(source_branch="feature", target_branch="main", sort="asc", get_all=True)
    assert [m.title for m in found] == ["one"]
    assert [m.title for m in mrs.list(iids=[2, 3], sort="asc", get_all=True)] == ["two", "three"]
    bad = raw(fake_gitlab, "GET", f"/projects/{project.id}/merge_requests?state=open")
    assert (bad.status_code, bad.json()) == (400, {"error": "state does not have a valid value"})


def test_pagination_over_more_than_one_page(
    project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab
) -> None:
    for n in range(45):
        fake_gitlab.state.add_merge_request(project, f"b{n}", "main", f"run {n}")
    mrs = gl.projects.get(project.id, lazy=True).mergerequests
    assert len(mrs.list(state="opened", get_all=True)) == 45
    assert len(fake_gitlab.calls("GET", "merge_requests$")) == 3  # 20 + 20 + 5
    assert [m.title for m in mrs.list(iterator=True, sort="asc")][-1] == "run 44"
    with pytest.warns(UserWarning, match="45 items"):  # python-gitlab reads X-Total/X-Per-Page
        assert len(mrs.list()) == 20

    path = f"/projects/{project.id}/merge_requests"
    first = raw(fake_gitlab, "GET", f"{path}?state=opened")
    headers = {k: first.headers[k] for k in ("X-Page", "X-Per-Page", "X-Total", "X-Total-Pages")}
    assert headers == {"X-Page": "1", "X-Per-Page": "20", "X-Total": "45", "X-Total-Pages": "3"}
    assert (first.headers["X-Next-Page"], first.headers["X-Prev-Page"]) == ("2", "")
    assert list(first.links) == ["next", "first", "last"]  # URLs keep the other parameters
    assert [link["url"] for link in first.links.values()] == [
        f"{fake_gitlab.api_url}{path}?state=opened&page={n}&per_page=20" for n in (2, 1, 3)
    ]
    last = raw(fake_gitlab, "GET", f"{path}?page=3&per_page=20")
    assert (last.headers["X-Next-Page"], last.headers["X-Prev-Page"]) == ("", "2")
    assert (len(last.json()), list(last.links)) == (5, ["prev", "first", "last"])
    big = raw(fake_gitlab, "GET", f"{path}?per_page=500")
    assert (len(big.json()), big.headers["X-Per-Page"]) == (45, "100")


# --- notes, issues and award emoji --------------------------------------------------------------


def test_notes_on_merge_requests_and_issues(
    project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab
) -> None:
    mr = create(gl)
    state = fake_gitlab.state
    system = state.add_note(project, project.merge_requests[mr.iid], "added 1 commit", system=True)
    mine = mr.notes.create({"body": "<!-- promoter:summary -->\nfirst"})
    theirs = state.add_note(project, project.merge_requests[mr.iid], "/promote", author="alice")
    listed = mr.notes.list(get_all=True)
    assert [n.id for n in listed] == [theirs.id, mine.id, system.id]  # newest first
    assert next(n.id for n in mr.notes.list(sort="asc", get_all=True)) == system.id
    assert [n.system for n in listed] == [False, False, True]
    got = mr.notes.get(mine.id)
    assert (got.noteable_type, got.noteable_iid, got.noteable_id) == ("MergeRequest", mr.iid, mr.id)
    got.body = "edited"
    got.save()
    assert project.notes[mine.id].body == "edited"
    with pytest.raises(gitlab.exceptions.GitlabUpdateError) as not_mine:
        note = mr.notes.get(theirs.id)
        note.body = "hijacked"
        note.save()
    assert not_mine.value.response_code == 403
    assert gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).user_notes_count == 2

    issue = state.add_issue(project, "Model quality", "which run is best?")
    on_issue = gl.projects.get(project.id, lazy=True).issues.get(issue.iid)
    assert (on_issue.title, on_issue.state, on_issue.author["username"]) == (
        "Model quality",
        "opened",
        "root",
    )
    reply = on_issue.notes.create({"body": "Commands run from merge requests only."})
    assert [n.body for n in on_issue.notes.list(get_all=True)] == [reply.body]
    assert project.notes[reply.id].noteable_type == "Issue"
    assert not fake_gitlab.unknown_requests


def test_note_length_limit(project: Project, gl: gitlab.Gitlab) -> None:
    mr = create(gl)
    assert len(mr.notes.create({"body": "x" * 1_000_000}).body) == 1_000_000
    with pytest.raises(GitlabCreateError) as long:
        mr.notes.create({"body": "x" * 1_000_001})
    assert long.value.response_code == 400
    assert long.value.error_message == (
        '400 Bad request - Note {:note=>["is too long (maximum is 1000000 characters)"]}'
    )
    with pytest.raises(GitlabCreateError, match="body is empty"):
        mr.notes.create({"body": "  "})


def test_award_emoji_on_notes(project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab) -> None:
    mr = create(gl)
    command = fake_gitlab.state.add_note(project, project.merge_requests[mr.iid], "/promote")
    note = mr.notes.get(command.id)
    eyes = note.awardemojis.create({"name": "eyes"})
    assert (eyes.name, eyes.user["username"]) == ("eyes", DEFAULT_USER)
    assert (eyes.awardable_type, eyes.awardable_id) == ("Note", command.id)
    with pytest.raises(GitlabCreateError) as twice:  # GitLab: a 404, not an idempotent 200
        note.awardemojis.create({"name": "eyes"})
    assert (twice.value.response_code, twice.value.error_message) == (
        404,
        "404 Award Emoji Name has already been taken Not Found",
    )
    with pytest.raises(GitlabCreateError, match="not a valid emoji name"):
        note.awardemojis.create({"name": "party-parrot"})
    fake_gitlab.state.add_token("alice-token", "alice")
    as_alice = fake_gitlab.client("alice-token").projects.get(project.id, lazy=True)
    as_alice.mergerequests.get(mr.iid, lazy=True).notes.get(command.id).awardemojis.create(
        {"name": "eyes"}
    )
    assert note.awardemojis.create({"name": "+1"}).name == "thumbsup"
    listed = note.awardemojis.list(get_all=True)
    assert [(a.name, a.user["username"]) for a in listed] == [
        ("eyes", DEFAULT_USER),
        ("eyes", "alice"),
        ("thumbsup", DEFAULT_USER),
    ]
    note.awardemojis.delete(eyes.id)
    assert [a.name for a in project.notes[command.id].awards] == ["eyes", "thumbsup"]
    theirs = project.notes[command.id].awards[0].id
    with pytest.raises(GitlabAuthenticationError) as refused:  # GitLab's answer: 401
        note.awardemojis.delete(theirs)
    assert refused.value.response_code == 401
    mr.awardemojis.create({"name": "thumbsup"})  # on the merge request itself
    assert gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).upvotes == 1


# --- members, users, projects, tokens ----------------------------------------------------------


@pytest.mark.parametrize("level", [GUEST, PLANNER, REPORTER, DEVELOPER, MAINTAINER, OWNER])
def test_member_access_levels(
    project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab, level: int
) -> None:
    dave = fake_gitlab.state.set_access(project, "dave", level)
    member = gl.projects.get(project.id, lazy=True).members_all.get(dave.id)
    assert (member.username, member.access_level, member.state) == ("dave", level, "active")


def test_non_members_and_bad_ids(
    project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab
) -> None:
    members = gl.projects.get(project.id, lazy=True).members_all
    mallory = fake_gitlab.state.add_user("mallory")
    for user_id in (mallory.id, 424242):
        with pytest.raises(GitlabGetError) as missing:
            members.get(user_id)
        assert (missing.value.response_code, missing.value.error_message) == (404, "404 Not found")
    bad = raw(fake_gitlab, "GET", f"/projects/{project.id}/members/all/mallory")
    assert (bad.status_code, bad.json()) == (400, {"error": "user_id is invalid"})
    listed = [m.username for m in members.list(get_all=True)]
    assert listed == [DEFAULT_USER, "alice", "bob", "carol"]


def test_users_lookup(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab) -> None:
    alice = fake_gitlab.state.add_user("alice", name="Alice")
    renovate = fake_gitlab.state.add_user("renovate-bot", bot=True)
    assert [(u.id, u.username, u.name) for u in gl.users.list(username="ALICE")] == [
        (alice.id, "alice", "Alice")
    ]
    assert gl.users.list(username="nobody") == []
    assert gl.users.get(renovate.id).bot is True
    assert gl.users.get(alice.id).bot is False
    with pytest.raises(GitlabGetError, match="404 User Not Found"):
        gl.users.get(999999)
    gl.auth()
    assert gl.user is not None
    assert (gl.user.username, gl.user.bot) == (DEFAULT_USER, True)


def test_projects_by_id_or_encoded_path(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab) -> None:
    nested = fake_gitlab.state.add_project("group/sub/demo", id=42)
    assert gl.projects.get("Group/Sub/Demo").id == 42 == gl.projects.get(42).id
    assert gl.projects.get(42).namespace["full_path"] == "group/sub"
    assert raw(fake_gitlab, "GET", "/projects/group%2Fsub%2Fdemo").json()["id"] == nested.id
    for ref in ("group%2Fnope", "4242"):
        missing = raw(fake_gitlab, "GET", f"/projects/{ref}")
        assert (missing.status_code, missing.json()) == (404, {"message": "404 Project Not Found"})
    branch = raw(fake_gitlab, "GET", "/projects/42/repository/branches/nope")
    assert (branch.status_code, branch.json()) == (404, {"message": "404 Branch Not Found"})


def test_tokens(project: Project, fake_gitlab: FakeGitLab) -> None:
    with pytest.raises(GitlabAuthenticationError) as wrong:
        fake_gitlab.client("glpat-wrong").projects.get(project.id)
    assert (wrong.value.response_code, wrong.value.error_message) == (401, "401 Unauthorized")
    assert raw(fake_gitlab, "GET", "/user", headers={}).json() == {"message": "401 Unauthorized"}
    assert fake_gitlab.client(auth="oauth").projects.get(project.id).id == project.id
    bearer = fake_gitlab.calls("GET", f"/projects/{project.id}$")[-1]
    assert bearer.header("Authorization") == f"Bearer {DEFAULT_TOKEN}"

    # CI_JOB_TOKEN reads, but cannot open merge requests or write notes (GitLab: 403).
    job = fake_gitlab.client(JOB_TOKEN, auth="job").projects.get(project.id)
    assert job.name == "demo"
    with pytest.raises(GitlabCreateError) as refused:
        job.mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "t"}
        )
    assert (refused.value.response_code, refused.value.error_message) == (403, "403 Forbidden")
    mr = fake_gitlab.state.add_merge_request(project, "feature", "main", "t")
    with pytest.raises(GitlabCreateError, match="403"):
        job.mergerequests.get(mr.iid, lazy=True).notes.create({"body": "hi"})

    # Nobody: private projects are hidden, writes need a token.
    hidden = raw(fake_gitlab, "GET", f"/projects/{project.id}", headers={})
    assert (hidden.status_code, hidden.json()) == (404, {"message": "404 Project Not Found"})
    write = raw(fake_gitlab, "POST", f"/projects/{project.id}/merge_requests", {}, headers={})
    assert write.status_code == 401
    fake_gitlab.state.add_project("group/open", visibility="public")
    assert raw(fake_gitlab, "GET", "/projects/group%2Fopen", headers={}).status_code == 200


def test_roles_that_may_not_write(project: Project, fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.state.add_token("bob-token", "bob")  # a Reporter
    as_bob = fake_gitlab.client("bob-token").projects.get(project.id, lazy=True)
    with pytest.raises(GitlabCreateError) as refused:
        as_bob.mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "t"}
        )
    assert refused.value.response_code == 403
    mr = fake_gitlab.state.add_merge_request(project, "feature", "main", "t")
    assert as_bob.mergerequests.get(mr.iid, lazy=True).notes.create({"body": "ok"}).body == "ok"


def test_every_route_answers_python_gitlab(project: Project, fake_gitlab: FakeGitLab) -> None:
    """A tour of every route the fake serves, through python-gitlab; a new route fails this test
    until the tour takes it."""
    gl = fake_gitlab.client()
    assert gl.version() == ("17.5.0", "fake0000")
    gl.auth()
    demo = gl.projects.get(project.id)
    alice = gl.users.get(gl.users.list(username="alice")[0].id)
    assert demo.members.get(alice.id).access_level == demo.members_all.get(alice.id).access_level
    everyone = [demo.members.list(get_all=True), demo.members_all.list(get_all=True)]
    assert [[m.username for m in members] for members in everyone] == [
        [DEFAULT_USER, "alice", "bob", "carol"]
    ] * 2
    assert [b.name for b in demo.branches.list(get_all=True)] == ["feature", "main", "other"]
    assert demo.branches.get("main").commit["id"] == MAIN
    mr = demo.mergerequests.get(create(gl).iid)
    mr.title = "Draft: t"
    mr.save()
    issue = fake_gitlab.state.add_issue(project, "an issue")
    assert [i.iid for i in demo.issues.list(get_all=True)] == [issue.iid]
    for thing in (create(gl, source_branch="other", labels="x"), demo.issues.get(issue.iid)):
        note = thing.notes.create({"body": "hi"})
        note = thing.notes.get(note.id)
        note.body = "edited"
        note.save()
        assert [n.body for n in thing.notes.list(get_all=True)] == ["edited"]
        award = note.awardemojis.create({"name": "eyes"})
        assert note.awardemojis.get(award.id).name == "eyes"
        assert [a.id for a in note.awardemojis.list(get_all=True)] == [award.id]
        note.awardemojis.delete(award.id)
        award = thing.awardemojis.create({"name": "rocket"})
        assert [a.name for a in thing.awardemojis.list(get_all=True)] == ["rocket"]
        assert thing.awardemojis.get(award.id).name == "rocket"
        thing.awardemojis.delete(award.id)
        thing.notes.delete(note.id)
    assert [label.name for label in demo.labels.list(get_all=True)] == ["x"]
    assert [m.title for m in demo.mergerequests.list(get_all=True)] == ["Promote run 1", "Draft: t"]
    served = {(verb, pattern.pattern) for verb, pattern, _, _ in api.ROUTES}
    taken = {
        (verb, pattern.pattern)
        for verb, pattern, _, _ in api.ROUTES
        for r in fake_gitlab.requests
        if r.method == verb and pattern.match(r.route)
    }
    assert served - taken == set()
    assert project.notes == {} and not fake_gitlab.unknown_requests


# --- git over HTTP with a token ------------------------------------------------------------------


def git_as(server: FakeGitLab, cwd: Path, credentials: str, *args: str) -> Any:
    """Run git in ``cwd``; ``{url}`` in ``args`` is ``group/demo``'s HTTP URL with
    ``credentials`` (``user:token``, or "" for none) in it. git never prompts."""
    url = server.url.replace("//", f"//{credentials}@" if credentials else "//") + "/group/demo.git"
    argv = ["git", *(arg.replace("{url}", url) for arg in args)]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)


@pytest.mark.slow
def test_git_clone_and_push_with_a_token(pushed: Path, fake_gitlab: FakeGitLab) -> None:
    demo = fake_gitlab.state.project("group/demo")
    url = raw(fake_gitlab, "GET", f"/projects/{demo.id}").json()["http_url_to_repo"]
    assert url == f"{fake_gitlab.url}/group/demo.git"
    bot = f"oauth2:{DEFAULT_TOKEN}"
    clone = git_as(fake_gitlab, pushed.parent, bot, "clone", "-q", "{url}", "clone")
    assert clone.returncode == 0, clone.stderr
    log = git(pushed.parent / "clone", "log", "-1", "--format=%s", "origin/promote/train")
    assert log.strip() == "Train a better model"
    (pushed / "plot.bin").write_bytes(os.urandom(1_500_000))  # over git's 1 MiB post buffer
    sha = commit_all(pushed, "Plots")
    push = git_as(fake_gitlab, pushed, bot, "push", "-q", "{url}", "HEAD:refs/heads/promote/next")
    assert push.returncode == 0, push.stderr
    branch = fake_gitlab.client().projects.get(demo.id, lazy=True).branches.get("promote/next")
    assert branch.commit["id"] == sha
    pushes = fake_gitlab.calls("POST", r"\.git/git-receive-pack$")
    assert {(r.user, r.status, r.git, r.known) for r in pushes} == {(DEFAULT_USER, 200, True, True)}
    assert any(r.header("Transfer-Encoding") == "chunked" for r in pushes)
    assert not fake_gitlab.unknown_requests


@pytest.mark.slow
def test_git_refusals(pushed: Path, fake_gitlab: FakeGitLab) -> None:
    state = fake_gitlab.state
    state.set_access("group/demo", state.add_token("bob-token", "bob").username, REPORTER)
    state.add_token("mallory-token", "mallory")  # not a member
    job = f"gitlab-ci-token:{JOB_TOKEN}"
    assert git_as(fake_gitlab, pushed, job, "ls-remote", "{url}").returncode == 0
    # CI_JOB_TOKEN clones and fetches but cannot push (GitLab's message); a Reporter neither.
    for credentials in (job, "bob:bob-token"):
        refused = git_as(fake_gitlab, pushed, credentials, "push", "{url}", "HEAD:refs/heads/x")
        assert "You are not allowed to push code to this project." in refused.stderr
    wrong = git_as(fake_gitlab, pushed, "oauth2:glpat-wrong", "ls-remote", "{url}")
    assert "HTTP Basic: Access denied" in wrong.stderr
    nobody = git_as(fake_gitlab, pushed, "", "ls-remote", "{url}")
    assert "could not read Username" in nobody.stderr  # asked for credentials, none to give
    hidden = git_as(fake_gitlab, pushed, "mallory:mallory-token", "ls-remote", "{url}")
    assert "could not be found" in hidden.stderr
    assert "x" not in state.project("group/demo").branch_names()


# --- the request log, unknown routes, bugs in the fake -----------------------------------------


def test_every_request_is_recorded(
    project: Project, gl: gitlab.Gitlab, fake_gitlab: FakeGitLab
) -> None:
    create(gl, labels=["a"])
    post = fake_gitlab.calls("POST", r"/merge_requests$")[0]
    assert post.path == "/api/v4/projects/group%2Fdemo/merge_requests"
    assert post.route == "/projects/group%2Fdemo/merge_requests"
    assert post.body == {
        "source_branch": "feature",
        "target_branch": "main",
        "title": "Promote run 1",
        "labels": ["a"],
    }
    assert post.header("private-token") == DEFAULT_TOKEN
    assert (post.header("User-Agent") or "").startswith("python-gitlab")
    assert (post.status, post.known, post.fault) == (201, True, None)
    unknown = raw(fake_gitlab, "GET", f"/projects/{project.id}/pipelines?ref=main")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "404 Not Found"})
    outside = requests.get(f"{fake_gitlab.url}/group/demo/-/raw/main/README.md", timeout=10)
    assert outside.status_code == 404
    assert [(r.route, r.query) for r in fake_gitlab.unknown_requests] == [
        (f"/projects/{project.id}/pipelines", {"ref": ["main"]}),
        ("", {}),
    ]


def test_malformed_json_and_bugs_in_the_fake(project: Project, fake_gitlab: FakeGitLab) -> None:
    url = f"{fake_gitlab.api_url}/projects/{project.id}/merge_requests"
    bad = requests.post(url, data=b"{nope", headers={"PRIVATE-TOKEN": DEFAULT_TOKEN}, timeout=10)
    assert (bad.status_code, bad.json()) == (
        400,
        {"error": "message body does not match declared format"},
    )
    form = requests.post(
        url,
        data={"source_branch": "feature", "target_branch": "main", "title": "from a form"},
        headers={"PRIVATE-TOKEN": DEFAULT_TOKEN},
        timeout=10,
    )
    assert (form.status_code, form.json()["title"]) == (201, "from a form")
    project.members[999] = Member(999, DEVELOPER)  # a member no user backs: the fake breaks
    assert raw(fake_gitlab, "GET", f"/projects/{project.id}/members/all").status_code == 500
    assert [type(e) for e in fake_gitlab.errors] == [KeyError]
    fake_gitlab.errors.clear()  # else the fixture fails the test


def test_self_managed_prefix(project: Project) -> None:
    with FakeGitLab(prefix=SELF_MANAGED_PREFIX) as server:
        demo = server.state.add_project("group/demo")
        demo.branches.update(main=MAIN, feature=FEATURE)
        assert server.api_url.endswith("/gitlab/api/v4")
        gl = server.client()
        mr = gl.projects.get("group/demo").mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "t"}
        )
        assert mr.web_url == f"{server.url}/group/demo/-/merge_requests/1"
        assert mr.web_url.startswith(f"http://127.0.0.1:{server.port}/gitlab/")
        for n in range(25):
            mr.notes.create({"body": f"n{n}"})
        assert len(mr.notes.list(get_all=True)) == 25  # the Link header keeps the prefix
        root = requests.get(f"http://127.0.0.1:{server.port}/api/v4/projects/{demo.id}", timeout=10)
        assert root.status_code == 404  # outside the relative root: unknown
        assert [r.path for r in server.unknown_requests] == [f"/api/v4/projects/{demo.id}"]
        assert not server.errors


# --- planned faults and python-gitlab's retries ------------------------------------------------


def test_5xx_retried_to_exactly_one_merge_request(
    project: Project, fake_gitlab: FakeGitLab, sleeps: list[float]
) -> None:
    fake_gitlab.fail_next("POST", r"/merge_requests$", status=502, times=2)
    gl = fake_gitlab.client(retry_transient_errors=True)
    assert create(gl).iid == 1
    assert [r.status for r in fake_gitlab.calls("POST", "merge_requests$")] == [502, 502, 201]
    assert (len(project.merge_requests), fake_gitlab.faults, sleeps) == (1, [], [0.1, 0.2])
    fake_gitlab.fail_next("POST", r"/merge_requests$", status=500)
    with pytest.raises(GitlabCreateError) as failed:  # without retries the 500 reaches the caller
        create(fake_gitlab.client(), source_branch="other")
    assert (failed.value.response_code, failed.value.error_message) == (
        500,
        "500 Internal Server Error",
    )


def test_429_with_retry_after(
    project: Project, fake_gitlab: FakeGitLab, sleeps: list[float]
) -> None:
    fake_gitlab.rate_limit_next("POST", r"/merge_requests$", retry_after=3)
    answer = raw(fake_gitlab, "POST", f"/projects/{project.id}/merge_requests", {})
    assert (answer.status_code, answer.text) == (429, "Retry later\n")
    assert answer.headers["Retry-After"] == "3"
    assert int(answer.headers["RateLimit-Reset"]) >= int(time.time()) + 2
    fake_gitlab.rate_limit_next("POST", r"/merge_requests$", retry_after=3)
    assert create(fake_gitlab.client(retry_transient_errors=True)).iid == 1
    assert sleeps == [3]  # python-gitlab waited what Retry-After said
    assert len(project.merge_requests) == 1


def test_429_without_retry_after(
    project: Project, fake_gitlab: FakeGitLab, sleeps: list[float]
) -> None:
    fake_gitlab.rate_limit_next("POST", r"/merge_requests$", retry_after=None, times=2)
    # python-gitlab obeys 429 even with retry_transient_errors off, backing off on its own.
    assert create(fake_gitlab.client()).iid == 1
    assert sleeps == [0.1, 0.2]
    assert [r.status for r in fake_gitlab.calls("POST", "merge_requests$")] == [429, 429, 201]
    limited = fake_gitlab.calls("POST", "merge_requests$")[0]
    assert limited.fault == "status"
    fake_gitlab.rate_limit_next("GET", r"/merge_requests/1$", retry_after=None, times=3)
    with pytest.raises(GitlabGetError) as exhausted:
        gl = fake_gitlab.client()
        gl.projects.get(project.id, lazy=True).mergerequests.get(1, max_retries=2)
    assert exhausted.value.response_code == 429
    assert len(project.merge_requests) == 1


def test_lost_answer_leaves_the_merge_request_created(
    project: Project, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.lose_answer_next("POST", r"/merge_requests$")
    with pytest.raises(requests.exceptions.ConnectionError):
        create(fake_gitlab.client())
    [lost] = fake_gitlab.calls("POST", "merge_requests$")
    assert (lost.status, lost.fault) == (201, "lost")
    assert [mr.title for mr in project.merge_requests.values()] == ["Promote run 1"]


def test_lost_answer_then_retry_meets_the_conflict(
    project: Project, fake_gitlab: FakeGitLab, sleeps: list[float]
) -> None:
    # What a forge must expect: the retried POST finds the MR its first attempt made.
    fake_gitlab.lose_answer_next("POST", r"/merge_requests$")
    with pytest.raises(GitlabCreateError) as retried:
        create(fake_gitlab.client(retry_transient_errors=True))
    assert retried.value.response_code == 409
    assert [r.status for r in fake_gitlab.calls("POST", "merge_requests$")] == [201, 409]
    assert len(project.merge_requests) == 1
    gl = fake_gitlab.client()
    found = gl.projects.get(project.id, lazy=True).mergerequests.list(
        state="opened", source_branch="feature", get_all=True
    )
    assert [m.iid for m in found] == [1]


def test_never_answers_until_the_client_times_out(
    project: Project, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.hang_next("GET", rf"/projects/{project.id}$", hold=MAX_HOLD)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        fake_gitlab.client(timeout=0.3).projects.get(project.id)
    assert 0.3 <= time.monotonic() - started < 2
    [held] = fake_gitlab.calls("GET")
    assert (held.status, held.fault) == (0, "hang")
    fake_gitlab.hang_next("POST", r"/merge_requests$", hold=MAX_HOLD)
    # python-gitlab retries a read timeout itself (retry_transient_errors) only from 8.5.0 on.
    with pytest.raises(requests.exceptions.ReadTimeout):
        create(fake_gitlab.client(timeout=0.3))
    assert project.merge_requests == {}  # a held request does nothing
    assert create(fake_gitlab.client(timeout=0.3)).iid == 1  # the server is not stuck
    started = time.monotonic()
    fake_gitlab.stop()  # held requests end with the server, so no test can hang on one
    assert time.monotonic() - started < 2


# --- answers against GitLab's documented fields ------------------------------------------------

# Own lists of each object's keys and JSON types, written from GitLab's REST docs (merge requests,
# notes, award emoji, members, users, projects, branches, issues) and its API entities. "?" marks
# a nullable value, "[t]" a list of t; "user" is the UserBasic object below.
USER = "id:int username:str name:str state:str locked:bool avatar_url:str? web_url:str"
SHAPES = {
    "user": USER,
    "public user": USER + " created_at:str bio:str? bot:bool public_email:str? website_url:str?",
    "current user": USER
    + " bot:bool email:str? created_at:str two_factor_enabled:bool can_create_project:bool",
    "member": USER + " access_level:int created_at:str expires_at:str? membership_state:str",
    "project": "id:int name:str path:str path_with_namespace:str name_with_namespace:str "
    "default_branch:str? visibility:str web_url:str http_url_to_repo:str ssh_url_to_repo:str "
    "namespace:dict created_at:str description:str? permissions:dict _links:dict",
    "branch": "name:str merged:bool protected:bool default:bool developers_can_push:bool "
    "developers_can_merge:bool can_push:bool web_url:str commit:dict",
    "merge request": "id:int iid:int project_id:int title:str description:str? state:str "
    "created_at:str updated_at:str merged_by:user? merge_user:user? merged_at:str? "
    "closed_by:user? closed_at:str? target_branch:str source_branch:str user_notes_count:int "
    "upvotes:int downvotes:int author:user assignees:[user] assignee:user? reviewers:[user] "
    "source_project_id:int target_project_id:int labels:[str] draft:bool work_in_progress:bool "
    "milestone:dict? merge_when_pipeline_succeeds:bool merge_status:str "
    "detailed_merge_status:str sha:str? merge_commit_sha:str? squash_commit_sha:str? "
    "discussion_locked:bool? should_remove_source_branch:bool? force_remove_source_branch:bool? "
    "reference:str references:dict web_url:str time_stats:dict squash:bool "
    "task_completion_status:dict has_conflicts:bool blocking_discussions_resolved:bool",
    "single merge request": "subscribed:bool changes_count:str? diff_refs:dict? "
    "merge_error:str? pipeline:dict? head_pipeline:dict? user:dict",
    "note": "id:int type:str? body:str attachment:str? author:user created_at:str "
    "updated_at:str system:bool noteable_id:int noteable_type:str project_id:int "
    "resolvable:bool confidential:bool internal:bool noteable_iid:int? commands_changes:dict",
    "award emoji": "id:int name:str user:user created_at:str updated_at:str awardable_id:int "
    "awardable_type:str url:str?",
    "issue": "id:int iid:int project_id:int title:str description:str? state:str "
    "created_at:str updated_at:str closed_at:str? labels:[str] assignees:[user] author:user "
    "user_notes_count:int upvotes:int downvotes:int web_url:str references:dict",
    "label": "id:int name:str color:str description:str? text_color:str",
}
ENUMS = {
    "state": {"opened", "closed", "merged", "locked", "active", "blocked"},
    "access_level": {10, 15, 20, 30, 40, 50},
    "awardable_type": {"Issue", "MergeRequest", "Note", "Snippet"},
    "noteable_type": {"Issue", "MergeRequest", "Commit", "Snippet"},
    "visibility": {"private", "internal", "public"},
    "detailed_merge_status": {"mergeable", "draft_status", "not_open", "checking", "unchecked"},
}
_TYPES: dict[str, Any] = {"int": int, "str": str, "bool": bool, "dict": dict}


def shape_errors(value: Any, shape: str, where: str = "$") -> list[str]:
    """Where ``value`` breaks the key list ``shape``: missing keys, wrong JSON types, values
    outside the documented enums, recursively into ``user`` objects."""
    if not isinstance(value, dict):
        return [f"{where}: {type(value).__name__}, not an object"]
    errors = []
    for item in SHAPES[shape].split():
        key, _, kind = item.partition(":")
        if key not in value:
            errors.append(f"{where}.{key}: missing")
            continue
        errors += _kind_errors(value[key], kind, f"{where}.{key}")
        if key in ENUMS and value[key] is not None and value[key] not in ENUMS[key]:
            errors.append(f"{where}.{key}: {value[key]!r} not documented")
    return errors


def _kind_errors(value: Any, kind: str, where: str) -> list[str]:
    if kind.endswith("?"):
        return [] if value is None else _kind_errors(value, kind[:-1], where)
    if kind.startswith("["):
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [
            e
            for n, item in enumerate(value)
            for e in _kind_errors(item, kind[1:-1], f"{where}[{n}]")
        ]
    if kind == "user":
        return shape_errors(value, "user", where)
    wrong = not isinstance(value, _TYPES[kind]) or (kind == "int" and isinstance(value, bool))
    return [f"{where}: {type(value).__name__}, not {kind}"] if wrong else []


@pytest.mark.slow
def test_answers_have_the_documented_fields(pushed: Path, fake_gitlab: FakeGitLab) -> None:
    state = fake_gitlab.state
    demo = state.project("group/demo")
    alice = state.user_named("alice")
    assert alice is not None
    mr = raw(
        fake_gitlab,
        "POST",
        f"/projects/{demo.id}/merge_requests",
        {
            "source_branch": "promote/train",
            "target_branch": "main",
            "title": "Draft: t",
            "assignee_ids": [alice.id],
            "labels": "a,b",
        },
    ).json()
    base = f"/projects/{demo.id}/merge_requests/{mr['iid']}"
    note = raw(fake_gitlab, "POST", f"{base}/notes", {"body": "hi"}).json()
    issue = state.add_issue(demo, "an issue")
    state.add_note(demo, issue, "on the issue")
    raw(fake_gitlab, "POST", f"{base}/notes/{note['id']}/award_emoji", {"name": "eyes"})
    raw(fake_gitlab, "PUT", base, {"state_event": "close"})
    p = f"/projects/{demo.id}"
    cases = [
        ("merge request", mr),
        ("single merge request", mr),
        ("merge request", raw(fake_gitlab, "GET", base).json()),
        ("merge request", raw(fake_gitlab, "GET", f"{p}/merge_requests").json()[0]),
        ("note", note),
        ("note", raw(fake_gitlab, "GET", f"{p}/issues/{issue.iid}/notes").json()[0]),
        (
            "award emoji",
            raw(fake_gitlab, "GET", f"{base}/notes/{note['id']}/award_emoji").json()[0],
        ),
        ("member", raw(fake_gitlab, "GET", f"{p}/members/all/{alice.id}").json()),
        ("user", raw(fake_gitlab, "GET", "/users?username=alice").json()[0]),
        ("public user", raw(fake_gitlab, "GET", f"/users/{alice.id}").json()),
        ("current user", raw(fake_gitlab, "GET", "/user").json()),
        ("project", raw(fake_gitlab, "GET", p).json()),
        ("branch", raw(fake_gitlab, "GET", f"{p}/repository/branches/promote%2Ftrain").json()),
        ("issue", raw(fake_gitlab, "GET", f"{p}/issues/{issue.iid}").json()),
        ("label", raw(fake_gitlab, "GET", f"{p}/labels").json()[0]),
    ]
    assert [e for shape, answer in cases for e in shape_errors(answer, shape, shape)] == []
    assert mr["draft"] and mr["detailed_merge_status"] == "draft_status"
    assert not fake_gitlab.unknown_requests


def test_the_shape_check_can_fail() -> None:
    broken = {"id": "1", "username": "a", "name": "A", "state": "gone", "locked": False}
    assert shape_errors(broken, "user") == [
        "$.id: str, not int",
        "$.state: 'gone' not documented",
        "$.avatar_url: missing",
        "$.web_url: missing",
    ]


# --- the webhook payloads promoter will read (shared fixtures) ---------------------------------


def _event(name: str) -> dict[str, Any]:
    path = EVENTS / name
    if not path.is_file():
        pytest.skip("the shared GitLab fixtures are absent")
    return dict(json.loads(path.read_text()))


def test_mr_note_payload_has_what_promoter_reads() -> None:
    event = _event("note_merge_request.json")
    attributes, mr = event["object_attributes"], event["merge_request"]
    assert (event["object_kind"], attributes["noteable_type"]) == ("note", "MergeRequest")
    assert {type(attributes[k]) for k in ("id", "author_id", "noteable_id")} == {int}
    assert isinstance(attributes["note"], str) and isinstance(attributes["system"], bool)
    assert attributes["action"] in ("create", "update")
    assert isinstance(event["user"]["id"], int) and isinstance(event["user"]["username"], str)
    assert event["project"]["id"] == event["project_id"] == attributes["project_id"]
    assert {type(mr[k]) for k in ("iid", "id")} == {int}
    assert all(isinstance(mr[k], str) for k in ("source_branch", "target_branch", "state"))
    # The note belongs to the MR by its global id; the API's URLs take the iid.
    assert attributes["noteable_id"] == mr["id"] != mr["iid"]


def test_mr_note_payload_ids_are_the_ones_the_api_takes(fake_gitlab: FakeGitLab) -> None:
    event = _event("note_merge_request.json")
    attributes, payload_mr, payload_project = (
        event["object_attributes"],
        event["merge_request"],
        event["project"],
    )
    state = fake_gitlab.state
    project = state.add_project(payload_project["path_with_namespace"], id=payload_project["id"])
    mr = state.add_merge_request(
        project,
        payload_mr["source_branch"],
        payload_mr["target_branch"],
        payload_mr["title"],
        iid=payload_mr["iid"],
        id=payload_mr["id"],
    )
    author = state.users[event["user"]["id"]]  # root, id 1, in the fake as in the payload
    state.add_note(project, mr, attributes["note"], author=author.username, id=attributes["id"])
    on_api = fake_gitlab.client().projects.get(event["project_id"], lazy=True)
    with pytest.raises(GitlabGetError):  # not a member yet: the permission check says no
        on_api.members_all.get(event["user"]["id"])
    state.set_access(project, author.username, DEVELOPER)
    assert on_api.members_all.get(event["user"]["id"]).access_level == DEVELOPER
    note = on_api.mergerequests.get(payload_mr["iid"], lazy=True).notes.get(attributes["id"])
    assert (note.body, note.noteable_id, note.author["id"]) == (
        attributes["note"],
        attributes["noteable_id"],
        event["user"]["id"],
    )
    assert note.awardemojis.create({"name": "eyes"}).awardable_id == attributes["id"]
    with pytest.raises(GitlabGetError):  # the global id in the URL finds nothing
        on_api.mergerequests.get(attributes["noteable_id"])


def test_issue_note_payload_reaches_the_issue(fake_gitlab: FakeGitLab) -> None:
    event = _event("note_issue.json")
    attributes, payload_issue = event["object_attributes"], event["issue"]
    assert (event["object_kind"], attributes["noteable_type"]) == ("note", "Issue")
    assert attributes["noteable_id"] == payload_issue["id"]
    state = fake_gitlab.state
    project = state.add_project(event["project"]["path_with_namespace"], id=event["project_id"])
    issue = state.add_issue(
        project, payload_issue["title"], iid=payload_issue["iid"], id=payload_issue["id"]
    )
    state.add_note(project, issue, attributes["note"], id=attributes["id"])
    reply = (
        fake_gitlab.client()
        .projects.get(event["project_id"], lazy=True)
        .issues.get(payload_issue["iid"], lazy=True)
        .notes.create({"body": "Commands run from merge requests only."})
    )
    assert [n.noteable_iid for n in project.notes.values()] == [payload_issue["iid"]] * 2
    assert reply.noteable_type == "Issue"
