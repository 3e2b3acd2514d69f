"""The GitLab forge beyond the shared contract, against the fake GitLab (python-gitlab
unchanged): drafts, people, roles, bots, issues, self-managed roots, and every fault GitLab
and its proxies produce."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.errors import PromoterError, UsageError
from promoter.forges.base import CommentRef, PullRequestDraft, PullState, Reaction, Role
from promoter.forges.gitlab import (
    DESCRIPTION_LIMIT,
    FOREIGN_MR,
    NOTE_LIMIT,
    GitLabForge,
    GitLabSettings,
    _ours,
    role_of,
)
from promoter.forges.gitlab_client import UNAUTHORIZED, GitLabApiError, Limits
from promoter.forges.markers import find_promotion, marker
from promoter.forges.registry import GITLAB_FROM_ENV, ForgeTarget, gitlab_target, make_forge
from tests.fakegitlab import (
    DEFAULT_TOKEN,
    DEFAULT_USER,
    DEVELOPER,
    GUEST,
    MAINTAINER,
    OWNER,
    PLANNER,
    REPORTER,
    SELF_MANAGED_PREFIX,
    FakeGitLab,
    Project,
)
from tests.repos import commit_all, git, make_repo_with_bare_remote

PATH = "ml/churn"
BRANCH = "promote/train"
RUN = "ab" * 16
SHA = "0123456789abcdef0123456789abcdef01234567"
QUICK = Limits(timeout=2.0, retry_seconds=10.0, backoff=0.01)


@dataclass
class World:
    server: FakeGitLab
    project: Project
    forge: GitLabForge

    def mrs(self) -> list:
        return list(self.project.merge_requests.values())


def _world(tmp_path: Path, server: FakeGitLab, token: str = DEFAULT_TOKEN) -> World:
    work, bare = make_repo_with_bare_remote(tmp_path)
    (work / "model.txt").write_text("v1\n")
    commit_all(work, "v1")
    git(work, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")
    project = server.state.add_project(PATH, bare=bare)
    for name, level in (("alice", DEVELOPER), ("rita", REPORTER), ("mo", MAINTAINER)):
        server.state.set_access(project, name, level)
    settings = GitLabSettings(
        PATH, token, server_url=server.url, api_url=server.api_url, limits=QUICK
    )
    return World(server, project, GitLabForge(settings))


@pytest.fixture
def world(tmp_path: Path, fake_gitlab: FakeGitLab) -> Iterator[World]:
    made = _world(tmp_path, fake_gitlab)
    yield made
    assert not fake_gitlab.unknown_requests


def draft(title: str = "Promote train", run: str = RUN, **kw: object) -> PullRequestDraft:
    fields: dict[str, object] = {
        "title": title,
        "body": f"Body.\n\n{marker('train', run)}\n",
        "branch": BRANCH,
        "base": "main",
        "labels": ("model-promotion", "ml"),
    }
    return PullRequestDraft(**(fields | kw))  # type: ignore[arg-type]


def test_create_sets_draft_labels_assignees_and_reviewers(world: World, caplog) -> None:
    made = world.forge.create(
        draft(draft=True, assignees=("alice",), reviewers=("@mo", "rita", "ghost-user"))
    )
    (mr,) = world.mrs()
    assert (made.number, mr.title, mr.draft) == (mr.iid, "Draft: Promote train", True)
    assert mr.labels == ["model-promotion", "ml"]
    users = world.server.state.users
    assert [users[i].username for i in mr.assignee_ids] == ["alice"]
    assert [users[i].username for i in mr.reviewer_ids] == ["mo", "rita"]
    assert "no GitLab user 'ghost-user'" in caplog.text
    assert made.url.endswith(f"/{PATH}/-/merge_requests/{mr.iid}")

    again = world.forge.update(
        made.number, draft("Draft: Promote again", run="cd" * 16, draft=True)
    )
    assert (again.number, mr.title) == (made.number, "Draft: Promote again")
    world.forge.update(made.number, draft("Promote again"))
    assert (mr.title, mr.draft, len(world.mrs())) == ("Promote again", False, 1)
    found = find_promotion(world.forge, BRANCH)
    assert found is not None and found.number == made.number


def test_closed_and_merged_mrs_are_listed_as_closed(world: World) -> None:
    first = world.forge.create(draft())
    world.forge.comment(first.number, "Closing: superseded.")
    world.forge.close(first.number)
    assert world.project.merge_requests[first.number].state == "closed"
    merged = world.server.state.add_merge_request(world.project, BRANCH, "main", "old")
    merged.state = "merged"
    closed = world.forge.pulls(BRANCH, PullState.CLOSED)
    assert [p.number for p in closed] == [merged.iid, first.number]
    assert world.forge.pulls(BRANCH) == []
    notes = world.project.notes_on("MergeRequest", first.number)
    assert [n.body for n in notes] == ["Closing: superseded."]


def test_a_forks_mr_from_a_branch_of_the_same_name_is_not_ours() -> None:
    mine = {"source_project_id": 7, "target_project_id": 7, "source_branch": BRANCH}
    assert _ours(mine, BRANCH)
    assert not _ours(mine | {"source_project_id": 99}, BRANCH)
    assert not _ours(mine, "other")


@pytest.mark.parametrize(
    ("level", "role"),
    [
        (GUEST, Role.READ),
        (PLANNER, Role.READ),
        (REPORTER, Role.TRIAGE),
        (DEVELOPER, Role.WRITE),
        (MAINTAINER, Role.MAINTAIN),
        (OWNER, Role.ADMIN),
        (5, Role.NONE),
        (0, Role.NONE),
    ],
)
def test_access_levels_map_as_spec_says(level: int, role: Role) -> None:
    assert role_of(level) is role


def test_roles_come_from_the_members_api(world: World) -> None:
    forge = world.forge
    assert (forge.role("alice"), forge.role("rita"), forge.role("mo")) == (
        Role.WRITE,
        Role.TRIAGE,
        Role.MAINTAIN,
    )
    world.server.state.add_user("stranger")
    assert forge.role("stranger") is Role.NONE
    assert forge.role("no-such-user") is Role.NONE
    alice = world.server.state.user_named("alice")
    assert alice is not None
    assert world.server.calls("GET", rf"/members/all/{alice.id}$")


def test_the_token_user_and_bot_users_are_bots(world: World) -> None:
    world.server.state.add_user("project_7_bot_3f2a", bot=True)
    forge = world.forge
    assert forge.is_bot(DEFAULT_USER) and forge.is_bot(DEFAULT_USER.upper())
    assert forge.is_bot("project_7_bot_3f2a")
    assert not forge.is_bot("alice") and not forge.is_bot("no-such-user")
    assert world.server.calls("POST") == []


def test_a_reply_and_reactions_on_an_issue_note_stay_on_the_issue(world: World) -> None:
    issue = world.server.state.add_issue(world.project, "Model quality")
    note = world.server.state.add_note(world.project, issue, "/promote", author="alice")
    ref = CommentRef(issue.iid, note.id, on_pull_request=False)
    world.forge.react(ref, Reaction.EYES)
    world.forge.react(ref, Reaction.EYES)  # GitLab: 404 "has already been taken"
    world.forge.reply(ref, "Only in merge requests.")
    assert [a.name for a in note.awards] == ["eyes"]
    bodies = [n.body for n in world.project.notes_on("Issue", issue.iid)]
    assert bodies == ["/promote", "Only in merge requests."]
    assert [r.status for r in world.server.calls("POST", "award_emoji")] == [201, 404]


def test_links_are_pinned_to_the_commit_and_limits_are_gitlabs(world: World) -> None:
    forge = world.forge
    project_url = f"{world.server.url}/{PATH}"
    assert forge.image_url(SHA, "plots/val acc.png", BRANCH) == (
        f"{project_url}/-/raw/{SHA}/plots/val%20acc.png"
    )
    assert forge.file_url(SHA, "r.yaml", BRANCH) == f"{project_url}/-/blob/{SHA}/r.yaml"
    assert (forge.body_limit, forge.comment_limit) == (DESCRIPTION_LIMIT, NOTE_LIMIT)
    credentials = forge.git_credentials()
    assert (credentials.server_url, credentials.username) == (world.server.url, "oauth2")
    assert DEFAULT_TOKEN not in repr(credentials) and DEFAULT_TOKEN not in repr(forge.settings)


def test_a_self_managed_instance_under_a_relative_root(tmp_path: Path) -> None:
    with FakeGitLab(prefix=SELF_MANAGED_PREFIX) as server:
        made = _world(tmp_path, server)
        pull = made.forge.create(draft())
        assert pull.url.startswith(f"{server.url}/{PATH}/-/merge_requests/")
        assert made.forge.image_url(SHA, "p.png", BRANCH).startswith(server.url + "/ml/")
        assert made.forge.role("alice") is Role.WRITE
        assert server.requests and not server.unknown_requests
        assert all(r.path.startswith(SELF_MANAGED_PREFIX + "/api/v4/") for r in server.requests)


def test_a_wrong_token_fails_in_one_line_without_the_token(
    tmp_path: Path, fake_gitlab: FakeGitLab
) -> None:
    made = _world(tmp_path, fake_gitlab, token="glpat-wrong-secret")
    with pytest.raises(GitLabApiError) as caught:
        made.forge.pulls(BRANCH)
    assert str(caught.value) == UNAUTHORIZED and caught.value.status == 401
    assert "glpat-wrong-secret" not in str(caught.value)
    assert len(fake_gitlab.calls("GET", "/merge_requests")) == 1


def test_5xx_and_429_are_retried_to_one_mr(world: World) -> None:
    world.server.fail_next("POST", r"/merge_requests$", status=502)
    world.server.fail_next("POST", r"/merge_requests$", status=503)
    world.server.rate_limit_next("PUT", r"/merge_requests/\d+$", retry_after=1)
    started = time.monotonic()
    pull = world.forge.create(draft())
    world.forge.update(pull.number, draft("Promote again"))
    assert time.monotonic() - started >= 1.0  # Retry-After obeyed
    assert len(world.mrs()) == 1
    assert [r.status for r in world.server.calls("POST", r"/merge_requests$")] == [502, 503, 201]
    assert [r.status for r in world.server.calls("PUT")] == [429, 200]


def test_retries_stop_at_the_time_budget(tmp_path: Path, fake_gitlab: FakeGitLab) -> None:
    made = _world(tmp_path, fake_gitlab)
    made.forge.client.limits = Limits(timeout=2.0, retry_seconds=0.5, backoff=0.2)
    fake_gitlab.fail_next("GET", r"/merge_requests$", status=500, times=50)
    started = time.monotonic()
    with pytest.raises(GitLabApiError, match=r"gave up after \d attempts in 0 s"):
        made.forge.pulls(BRANCH)
    assert time.monotonic() - started < 1.0
    fake_gitlab.plan.pending.clear()
    fake_gitlab.rate_limit_next("GET", r"/merge_requests$", retry_after=3600)
    with pytest.raises(GitLabApiError, match="429") as caught:
        made.forge.pulls(BRANCH)
    assert "gave up after 1 attempt in" in str(caught.value)


def test_a_lost_answer_after_the_mr_was_made_ends_with_one_mr(world: World) -> None:
    world.server.lose_answer_next("POST", r"/merge_requests$")
    pull = world.forge.create(draft())
    (mr,) = world.mrs()
    assert pull.number == mr.iid
    assert len(world.server.calls("POST", r"/merge_requests$")) == 1


def test_a_lost_answer_on_a_retried_create_meets_gitlabs_409(world: World) -> None:
    # The lost create is retried blind (the look for it failed too): GitLab's 409 leads to it.
    world.server.lose_answer_next("POST", r"/merge_requests$")
    world.server.fail_next("GET", r"/merge_requests$", status=400, body={"error": "odd"})
    pull = world.forge.create(draft(title="Promote train"))
    assert [mr.iid for mr in world.mrs()] == [pull.number]
    assert [r.status for r in world.server.calls("POST", r"/merge_requests$")] == [201, 409]


def test_an_open_mr_without_our_marker_is_never_taken_over(world: World) -> None:
    world.server.state.add_merge_request(
        world.project, BRANCH, "main", "WIP by a person", author="alice"
    )
    with pytest.raises(PromoterError) as caught:
        world.forge.create(draft())
    assert str(caught.value) == FOREIGN_MR.format(iid=1, branch=BRANCH)


def test_a_lost_note_answer_leaves_one_note_and_a_hang_times_out(world: World) -> None:
    pull = world.forge.create(draft())
    world.server.lose_answer_next("POST", r"/notes$")
    world.forge.comment(pull.number, "Run aaaa is superseded.")
    world.server.hang_next("POST", r"/notes$", hold=5)
    world.forge.comment(pull.number, "Second note.")
    bodies = [n.body for n in world.project.notes_on("MergeRequest", pull.number)]
    assert bodies == ["Run aaaa is superseded.", "Second note."]


def test_other_errors_say_what_was_being_done(world: World, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with pytest.raises(GitLabApiError) as caught:
        world.forge.update(99, draft())
    expected = "GitLab API error 404 while trying to read merge request !99: 404 Not found"
    assert str(caught.value) == expected
    world.server.fail_next("POST", r"/merge_requests$", status=400, body={"message": ["bad"]})
    with pytest.raises(GitLabApiError, match="open the merge request: bad"):
        world.forge.create(draft())


def test_targets_from_the_environment() -> None:
    env = {
        "CI_PROJECT_PATH": "group/sub/proj",
        "CI_SERVER_URL": "https://git.example/gitlab/",
        "CI_API_V4_URL": "https://git.example/gitlab/api/v4",
        "GITLAB_TOKEN": "fallback",
        "PROMOTER_TOKEN": "chosen",
    }
    target = gitlab_target(env)
    assert (target.repository, target.token, target.server_url) == (
        "group/sub/proj",
        "chosen",
        "https://git.example/gitlab",
    )
    assert "chosen" not in repr(target)
    forge = make_forge(target)
    assert isinstance(forge, GitLabForge)
    assert forge.settings.instance_url == "https://git.example/gitlab"
    assert gitlab_target({"CI_PROJECT_PATH": "a/b", "GITLAB_TOKEN": "t"}).token == "t"
    assert gitlab_target({}).server_url == "https://gitlab.com"
    with pytest.raises(UsageError, match=re.escape(GITLAB_FROM_ENV)):
        make_forge(ForgeTarget("gitlab", repository="a/b"))
    odd = GitLabSettings("a/b", "t", api_url="https://git.example/api/v3")
    with pytest.raises(UsageError, match="does not end in /api/v4"):
        _ = odd.instance_url


def test_a_description_over_gitlabs_limit_is_refused_with_its_reason(world: World) -> None:
    long = draft(body="x" * (DESCRIPTION_LIMIT + 1))
    with pytest.raises(GitLabApiError) as caught:
        world.forge.create(long)
    assert caught.value.status == 400
    assert "description is too long (maximum is 1048576 characters)" in str(caught.value)
    assert world.mrs() == []


def test_an_update_adds_what_is_missing_and_keeps_what_people_added(world: World) -> None:
    made = world.forge.create(draft(assignees=("alice",), reviewers=("mo",)))
    mr = world.project.merge_requests[made.number]
    rita = world.server.state.user_named("rita")
    assert rita is not None
    mr.labels = ["approved"]  # a person relabelled it, and reassigned it
    mr.assignee_ids = [rita.id]
    world.server.clear_requests()
    pull = world.forge.update(made.number, draft(assignees=("alice",), reviewers=("mo",)))
    assert sorted(mr.labels) == ["approved", "ml", "model-promotion"]
    users = world.server.state.users
    assert [users[i].username for i in mr.assignee_ids] == ["rita", "alice"]
    assert [users[i].username for i in mr.reviewer_ids] == ["mo"]
    (put,) = world.server.calls("PUT")
    assert put.body is not None and set(put.body) == {"add_labels", "assignee_ids"}
    assert (pull.labels, pull.assignees, pull.reviewers) == (
        ("approved", "ml", "model-promotion"),
        ("rita", "alice"),
        ("mo",),
    )
    world.server.clear_requests()
    world.forge.update(made.number, draft(assignees=("alice",), reviewers=("mo",)))
    assert world.server.calls("PUT") == []  # nothing differs: nothing written, nobody notified
    mr.state = "merged"
    (merged,) = world.forge.pulls(BRANCH, PullState.CLOSED)
    assert merged.merged and merged.state is PullState.CLOSED
