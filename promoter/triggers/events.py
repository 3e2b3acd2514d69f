"""What started promoter, in forge-neutral terms: each CI host reads its own event into one
:class:`Trigger`, and the handlers in this package decide from it alone."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from promoter.forges.base import CommentRef
from promoter.triggers.commands import DEFAULT_PREFIX, parse_command

IGNORED_ACTION: Final = "the comment was {action}, and only new comments are commands"
IGNORED_BOT: Final = "the comment is by a bot ({login}), and bots cannot give commands"
IGNORED_NO_COMMAND: Final = "the comment holds no {prefix} command"


class TriggerKind(StrEnum):
    """What kind of start this is; a host maps its own events onto these."""

    DISPATCH = "dispatch"
    """Started by hand (GitHub ``workflow_dispatch``; GitLab ``web``, ``api``, ...)."""
    SCHEDULE = "schedule"
    """The nightly job."""
    COMMENT = "comment"
    """A comment that may hold a slash command."""
    PUSH = "push"
    """A push to the repository (GitHub ``push``; GitLab's push pipeline): after the merge of
    a promotion into ``pr.base``, its registration."""
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentTrigger:
    """A comment; ``body`` is untrusted text."""

    ref: CommentRef
    action: str
    """``created`` for a new comment; anything else (``edited``, ``deleted``) is no command."""
    body: str
    author: str
    by_bot: bool
    on_pull_request: bool
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PushTrigger:
    """A push, as git names it: ``ref`` is ``refs/heads/<branch>`` or ``refs/tags/<tag>``;
    ``before``/``after`` are the ref's commits around the push (``None`` or all zeros: the
    ref was created / deleted).

    GitHub: the ``push`` payload's ``ref``, ``before``, ``after``. GitLab (a pipeline with
    ``CI_PIPELINE_SOURCE=push``): ``refs/heads/$CI_COMMIT_BRANCH`` or
    ``refs/tags/$CI_COMMIT_TAG``, ``$CI_COMMIT_BEFORE_SHA``, ``$CI_COMMIT_SHA``.
    """

    ref: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """One start of promoter, with the request the host resolved from its inputs."""

    kind: TriggerKind
    event: str
    """The host's own name for the event (``workflow_dispatch``, ``schedule``, ...)."""
    actor: str | None = None
    run_url: str | None = None
    run: str | None = None
    """A run id to promote instead of the best one (validated)."""
    objective: str | None = None
    dry_run: bool = False
    comment: CommentTrigger | None = None
    ignored: str | None = None
    """Why this start is nothing for promoter, when the host can tell from its event alone
    (a push pipeline, a system note): nothing is asked of the forge or the run store."""
    push: PushTrigger | None = None


def should_ignore(trigger: Trigger, prefix: str = DEFAULT_PREFIX) -> str | None:
    """Why this comment is not a command for us, or ``None`` when it may be one."""
    comment = trigger.comment
    if trigger.kind is not TriggerKind.COMMENT or comment is None:
        return None
    if comment.action != "created":
        return IGNORED_ACTION.format(action=comment.action)
    if comment.by_bot:
        return IGNORED_BOT.format(login=comment.author)
    if parse_command(comment.body, prefix) is None:
        return IGNORED_NO_COMMAND.format(prefix=prefix)
    return None
