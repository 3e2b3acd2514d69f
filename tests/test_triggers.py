"""Trigger handlers through the router, in milliseconds: a neutral trigger in, the in-memory
forge and store, real git where a command promotes. No Guild, no DVC, no HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.errors import PromoterError
from promoter.forges.base import CommentRef, Role
from promoter.forges.markers import find_promotion
from promoter.render.escape import md_escape
from promoter.settings import Settings, resolve_settings
from promoter.triggers.commands import help_text
from promoter.triggers.comment import NOT_ON_ISSUES, REFUSED_PERMISSION
from promoter.triggers.context import TriggerContext
from promoter.triggers.events import (
    IGNORED_ACTION,
    IGNORED_BOT,
    CommentTrigger,
    Trigger,
    TriggerKind,
)
from promoter.triggers.router import route
from tests.memory import MEMORY_CONFIG, MemoryForge, MemoryStore, memory_id, memory_world
from tests.repos import commit_all, git, make_repo_with_bare_remote
from tests.test_render import CORPUS, Page, assert_gitlab_inert, to_html

PR = 12
ROLES = {"writer": Role.WRITE, "reader": Role.READ, "owner": Role.ADMIN}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    work, _ = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text(MEMORY_CONFIG)
    commit_all(work, "promoter config")
    git(work, "push", "-q", "origin", "main")
    return resolve_settings(work, env={})


@pytest.fixture
def store(tmp_path: Path) -> MemoryStore:
    return memory_world(tmp_path, (0.8, 0.9))


def comment(body: str, author: str = "writer", **kw: object) -> Trigger:
    fields: dict[str, object] = {
        "ref": CommentRef(PR, 501),
        "action": "created",
        "body": body,
        "author": author,
        "by_bot": False,
        "on_pull_request": True,
    }
    return Trigger(
        kind=TriggerKind.COMMENT,
        event="issue_comment",
        run_url="https://ci.example/run/1",
        comment=CommentTrigger(**(fields | kw)),  # type: ignore[arg-type]
    )


def fire(trigger: Trigger, settings: Settings, store: MemoryStore, forge: MemoryForge):  # type: ignore[no-untyped-def]
    return route(TriggerContext(trigger, settings, forge, store))


def test_help_reacts_replies_and_promotes_nothing(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES)
    result = fire(comment("/promote help"), settings, store, forge)
    assert result.decision == "help" and result.promotion is None
    assert forge.reacted() == ["eyes", "rocket"]
    (reply,) = forge.comments
    assert reply.number == PR and reply.body.startswith("> `/promote help`")
    assert help_text("/promote") in reply.body and "https://ci.example/run/1" in reply.body
    assert not any(c.startswith(("create", "update")) for c in forge.calls)


def test_a_reader_is_refused_before_anything_runs(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES)
    result = fire(comment("/promote", author="reader"), settings, store, forge)
    assert result.decision == "refused"
    text = REFUSED_PERMISSION.format(author="reader", needed="write", role="read")
    assert result.summary == text and text in forge.comments[0].body
    assert forge.reacted() == ["eyes", "confused"]
    assert store.materialized == [] and find_promotion(forge, "promote/train") is None


def test_an_invalid_command_says_why_and_shows_help(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES)
    result = fire(comment("/promote --force"), settings, store, forge)
    assert result.decision == "refused"
    assert "unknown option `--force`" in forge.comments[0].body
    assert forge.reacted() == ["eyes", "confused"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"action": "edited"}, IGNORED_ACTION.format(action="edited")),
        ({"by_bot": True, "author": "renovate[bot]"}, IGNORED_BOT.format(login="renovate[bot]")),
    ],
)
def test_edits_and_bots_are_ignored_without_a_call(settings, store, changes, reason) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES)
    result = fire(comment("/promote", **changes), settings, store, forge)
    assert (result.decision, result.summary) == ("ignored", reason)
    assert forge.calls == []


def test_a_command_in_a_plain_issue_is_answered_in_the_issue(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES, bots={"gitlab-bot"})
    issue = comment("/promote", ref=CommentRef(3, 77, on_pull_request=False), on_pull_request=False)
    result = fire(issue, settings, store, forge)
    assert (result.decision, result.summary) == ("ignored", NOT_ON_ISSUES)
    assert forge.calls == [
        "react 77 eyes",
        "role writer",
        "comment 3 (issue)",
        "react 77 confused",
    ]
    assert NOT_ON_ISSUES in forge.comments[0].body and store.materialized == []
    calls = len(forge.calls)
    bot = fire(comment("/promote", author="gitlab-bot"), settings, store, forge)
    assert (bot.decision, bot.summary) == ("ignored", IGNORED_BOT.format(login="gitlab-bot"))
    assert len(forge.calls) == calls  # a bot's command: nothing asked, nothing written


def test_commands_on_issues_when_the_config_allows_them(tmp_path, store) -> None:  # type: ignore[no-untyped-def]
    work, _ = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text(MEMORY_CONFIG + "commands: {on_issues: true}\n")
    commit_all(work, "promoter config")
    git(work, "push", "-q", "origin", "main")
    forge = MemoryForge(roles=ROLES)
    issue = comment("/promote help", on_pull_request=False)
    result = fire(issue, resolve_settings(work, env={}), store, forge)
    assert result.decision == "help" and forge.reacted() == ["eyes", "rocket"]


def test_compare_two_runs(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES)
    result = fire(
        comment(f"/promote compare {memory_id(1)[:8]} {memory_id(2)[:8]}"), settings, store, forge
    )
    assert result.decision == "compared"
    table = forge.comments[0].body
    assert f"| {md_escape('max val_acc')} | 0.8 | 0.9 |" in table
    assert "| eligible | ✅ | ✅ |" in table


def test_a_writer_promotes_the_best_run(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES)
    result = fire(comment("/promote"), settings, store, forge)
    assert result.decision == "promoted" and result.promotion is not None
    assert result.promotion.run_id == memory_id(2)
    assert forge.reacted() == ["eyes", "rocket"]
    assert forge.comments[-1].body.splitlines()[2].startswith("**promoted**")


def test_dispatch_and_schedule_promote_what_the_request_says(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge()
    chosen = Trigger(kind=TriggerKind.DISPATCH, event="workflow_dispatch", run=memory_id(1)[:8])
    result = fire(chosen, settings, store, forge)
    # Run 1 is not the best: promoting it by id is judged against the same rules.
    assert result.promotion is not None and result.promotion.run_id == memory_id(1)
    nightly = fire(
        Trigger(kind=TriggerKind.SCHEDULE, event="schedule", dry_run=True), settings, store, forge
    )
    assert nightly.decision == "dry-run" and nightly.promotion is not None
    assert nightly.promotion.body and "promoter:op=train" in nightly.promotion.body


def test_other_events_are_ignored(settings, store) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge()
    result = fire(Trigger(kind=TriggerKind.OTHER, event="release"), settings, store, forge)
    assert result.decision == "ignored" and "'release'" in result.summary
    assert forge.calls == []


class FailingStore(MemoryStore):
    """A store whose listing fails with a message holding untrusted text."""

    def __init__(self, message: str) -> None:
        super().__init__([])
        self.message = message

    def list_runs(self, progress=None):  # type: ignore[no-untyped-def]
        raise PromoterError(self.message)


@pytest.mark.parametrize("value", CORPUS)
def test_replies_keep_hostile_text_inert(settings, store, value) -> None:  # type: ignore[no-untyped-def]
    forge = MemoryForge(roles=ROLES)
    fire(comment(f"/promote {value}"), settings, store, forge)
    with pytest.raises(PromoterError):
        fire(comment("/promote"), settings, FailingStore(value), forge)
    fire(comment(f"/promote {value}", on_pull_request=False), settings, store, forge)
    assert len(forge.comments) == 3
    for reply in forge.comments:
        page = Page(to_html(reply.body))
        assert_gitlab_inert(reply.body, page)
        assert "@user" not in page.prose and "@org/team" not in page.prose


def test_what_the_event_and_config_alone_ignore_is_decided_early(settings) -> None:  # type: ignore[no-untyped-def]
    from promoter.triggers.early import ignored_early
    from promoter.triggers.events import IGNORED_ACTION, PushTrigger
    from promoter.triggers.push import OTHER_BRANCH

    sha = "a" * 40
    edit = comment("/promote", action="edited")
    assert ignored_early(edit, settings) == IGNORED_ACTION.format(action="edited")
    other = Trigger(
        kind=TriggerKind.PUSH,
        event="push",
        push=PushTrigger(ref="refs/heads/x", before=sha, after=sha),
    )
    assert ignored_early(other, settings) == OTHER_BRANCH.format(branch="x", bases="main")
    to_base = Trigger(
        kind=TriggerKind.PUSH,
        event="push",
        push=PushTrigger(ref="refs/heads/main", before=sha, after=sha),
    )
    assert ignored_early(to_base, settings) is None
    assert ignored_early(comment("/promote"), settings) is None
    nightly = Trigger(kind=TriggerKind.SCHEDULE, event="schedule")
    assert ignored_early(nightly, settings) is None
    said = Trigger(kind=TriggerKind.OTHER, event="chat", ignored="not ours")
    assert ignored_early(said, settings) == "not ours"
