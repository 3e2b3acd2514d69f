"""One contract every forge passes: the local forge, GitHub (PyGithub against the fake
GitHub), GitLab (python-gitlab against the fake GitLab) and a forge written in the tests
against the interface alone. A new forge joins by adding one factory to ``FORGES``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promoter.forges.base import (
    CommentRef,
    Forge,
    PullRequestDraft,
    PullState,
    Reaction,
    Role,
)
from promoter.forges.markers import find_promotion, marked_run, marker
from promoter.forges.registry import ForgeTarget, make_forge
from tests.fakegithub import Comment, FakeGitHub
from tests.fakegitlab import DEFAULT_TOKEN, DEVELOPER, REPORTER, FakeGitLab
from tests.memory import MemoryForge
from tests.repos import commit_all, git, make_repo_with_bare_remote

REPO = "acme/forge-contract"
RUN = "ab" * 16
OTHER_RUN = "cd" * 16
BRANCH = "promote/train"


@dataclass
class Subject:
    """A forge under test and what the test needs to drive it."""

    forge: Forge
    writer: str
    """A user with write access."""
    comment_on: Callable[[int, str], CommentRef]
    """Make a comment (as someone else would) and return its reference."""
    reactions: Callable[[CommentRef], list[str]]


def _local(tmp_path: Path, server: FakeGitHub) -> Subject:
    forge = make_forge(ForgeTarget("local", directory=tmp_path / "forge"))

    def comment_on(number: int, body: str) -> CommentRef:
        forge.comment(number, body)
        return CommentRef(number, 1)

    def reactions(ref: CommentRef) -> list[str]:
        import json

        data = json.loads((tmp_path / "forge" / f"pull-{ref.number}.json").read_text())
        return [r["content"] for r in data.get("reactions", []) if r["comment"] == ref.comment_id]

    return Subject(forge, "anyone", comment_on, reactions)


def _github(tmp_path: Path, server: FakeGitHub) -> Subject:
    work, bare = make_repo_with_bare_remote(tmp_path)
    (work / "model.txt").write_text("a promotion\n")
    commit_all(work, "A promotion")
    for name in (BRANCH, "other"):
        git(work, "push", "-q", "origin", f"HEAD:refs/heads/{name}")
    server.state.add_repo(REPO, bare=bare)
    server.state.set_permission(REPO, "octocat", "admin")
    server.state.set_permission(REPO, "writer", "write")
    server.state.set_permission(REPO, "reader", "read")
    forge = make_forge(
        ForgeTarget("github", repository=REPO, token="t", api_url=server.url, pacing=0)
    )

    def comment_on(number: int, body: str) -> CommentRef:
        with server.state.lock:
            comment_id = server.state.next_id()
            server.state.repo(REPO).comments[comment_id] = Comment(
                comment_id, number, "writer", body
            )
        return CommentRef(number, comment_id)

    def reactions(ref: CommentRef) -> list[str]:
        return [r.content for r in server.state.repo(REPO).comments[ref.comment_id].reactions]

    return Subject(forge, "writer", comment_on, reactions)


def _gitlab(tmp_path: Path, server: FakeGitLab) -> Subject:
    work, bare = make_repo_with_bare_remote(tmp_path)
    (work / "model.txt").write_text("a promotion\n")
    commit_all(work, "A promotion")
    for name in (BRANCH, "other"):
        git(work, "push", "-q", "origin", f"HEAD:refs/heads/{name}")
    project = server.state.add_project(REPO, bare=bare)
    server.state.set_access(project, "writer", DEVELOPER)
    server.state.set_access(project, "reader", REPORTER)
    forge = make_forge(
        ForgeTarget("gitlab", repository=REPO, token=DEFAULT_TOKEN, server_url=server.url)
    )

    def comment_on(number: int, body: str) -> CommentRef:
        note = server.state.add_note(project, project.merge_requests[number], body, author="writer")
        return CommentRef(number, note.id)

    def reactions(ref: CommentRef) -> list[str]:
        return [a.name for a in project.notes[ref.comment_id].awards]

    return Subject(forge, "writer", comment_on, reactions)


def _memory(tmp_path: Path, server: FakeGitHub) -> Subject:
    forge = MemoryForge(roles={"writer": Role.WRITE})

    def comment_on(number: int, body: str) -> CommentRef:
        forge.comment(number, body)
        return CommentRef(number, forge.comments[-1].id)

    def reactions(ref: CommentRef) -> list[str]:
        return [c.split(" ")[2] for c in forge.calls if c.startswith(f"react {ref.comment_id} ")]

    return Subject(forge, "writer", comment_on, reactions)


FORGES: dict[str, Callable[[Path, Any], Subject]] = {
    "local": _local,
    "github": _github,
    "gitlab": _gitlab,
    "memory": _memory,
}
SERVERS = {"gitlab": "fake_gitlab"}  # the fake each forge talks to (default: fake GitHub)


@pytest.fixture(params=sorted(FORGES))
def subject(request, tmp_path) -> Iterator[Subject]:
    server = request.getfixturevalue(SERVERS.get(request.param, "fake_github"))
    yield FORGES[request.param](tmp_path, server)


def draft(run: str = RUN, title: str = "Promote train", branch: str = BRANCH) -> PullRequestDraft:
    return PullRequestDraft(
        title=title,
        body=f"A body.\n\n{marker('train', run)}\n",
        branch=branch,
        base="main",
        labels=("model-promotion",),
    )


def test_a_created_pr_is_found_by_branch_and_marker(subject: Subject) -> None:
    forge = subject.forge
    assert find_promotion(forge, BRANCH) is None
    pull = forge.create(draft())
    assert pull.number > 0 and pull.url and pull.branch == BRANCH
    found = find_promotion(forge, BRANCH)
    assert found is not None and found.number == pull.number
    assert marked_run(found.body) == RUN
    assert find_promotion(forge, "other") is None


def test_a_pr_without_the_marker_is_not_a_promotion(subject: Subject) -> None:
    forge = subject.forge
    plain = draft()
    forge.create(PullRequestDraft(plain.title, "Opened by a person.", BRANCH, "main"))
    assert [p.body for p in forge.pulls(BRANCH)] == ["Opened by a person."]
    assert find_promotion(forge, BRANCH) is None


def test_an_update_replaces_title_and_body_in_place(subject: Subject) -> None:
    forge = subject.forge
    first = forge.create(draft())
    updated = forge.update(first.number, draft(run=OTHER_RUN, title="Promote again"))
    assert updated.number == first.number
    found = find_promotion(forge, BRANCH)
    assert found is not None
    assert (found.title, marked_run(found.body)) == ("Promote again", OTHER_RUN)
    assert len(forge.pulls(BRANCH)) == 1


def test_a_closed_pr_is_listed_as_closed_only(subject: Subject) -> None:
    forge = subject.forge
    pull = forge.create(draft())
    forge.comment(pull.number, "Closing: superseded.")
    forge.close(pull.number)
    assert find_promotion(forge, BRANCH) is None
    closed = forge.pulls(BRANCH, PullState.CLOSED)
    assert [(p.number, p.state) for p in closed] == [(pull.number, PullState.CLOSED)]


def test_a_comment_is_found_among_the_latest_once_posted(subject: Subject) -> None:
    forge = subject.forge
    pull = forge.create(draft())
    said = "Refused: the branch holds commits promoter did not make."
    assert not forge.has_comment(pull.number, said)
    forge.comment(pull.number, said)
    forge.comment(pull.number, "Another comment.")
    assert forge.has_comment(pull.number, said)
    assert not forge.has_comment(pull.number, said + " Changed.")


def test_reactions_land_on_the_comment(subject: Subject) -> None:
    forge = subject.forge
    pull = forge.create(draft())
    ref = subject.comment_on(pull.number, "/promote")
    forge.react(ref, Reaction.EYES)
    forge.react(ref, Reaction.ROCKET)
    assert subject.reactions(ref) == ["eyes", "rocket"]
    forge.reply(ref, "Done.")


def test_roles_are_ordered_and_a_stranger_has_none_or_more(subject: Subject) -> None:
    forge = subject.forge
    assert forge.role(subject.writer) >= Role.WRITE
    assert Role.NONE < Role.READ < Role.TRIAGE < Role.WRITE < Role.MAINTAIN < Role.ADMIN
    assert forge.role("nobody-at-all") in set(Role)
    assert not forge.is_bot(subject.writer)


def test_limits_and_links(subject: Subject) -> None:
    forge = subject.forge
    assert forge.body_limit >= 65_536 and forge.comment_limit >= 65_536
    sha = "0123456789abcdef0123456789abcdef01234567"
    for url in (
        forge.image_url(sha, "sub/plot a.png", BRANCH),
        forge.file_url(sha, "r.yaml", BRANCH),
    ):
        assert url
    assert "plot" in forge.image_url(sha, "sub/plot a.png", BRANCH)
