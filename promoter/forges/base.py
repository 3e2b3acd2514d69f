"""The one interface every forge implements (local files, GitHub, GitLab): pull requests,
comments, reactions and roles, in forge-neutral terms.

A forge only moves data: which pull request is a promotion (the hidden marker) is decided
in :mod:`promoter.forges.markers`, what to do with it in :mod:`promoter.promotion.planner`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Protocol


class Role(IntEnum):
    """What a user may do in a repository, ordered: GitHub's roles, GitLab's access levels."""

    NONE = 0
    READ = 1
    TRIAGE = 2
    WRITE = 3
    MAINTAIN = 4
    ADMIN = 5

    @classmethod
    def named(cls, name: str) -> Role:
        """The role a config names (``commands.min_permission``): read, triage, write, ..."""
        return cls[name.upper()]

    def __str__(self) -> str:
        return self.name.lower()


class Reaction(StrEnum):
    """The bot's reactions to a command: started, done, and refused or failed."""

    EYES = "eyes"
    ROCKET = "rocket"
    CONFUSED = "confused"


class PullState(StrEnum):
    """A pull (merge) request's state, as promoter asks for it."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class GitCredentials:
    """How git authenticates to the forge's server over HTTPS: a header scoped to
    ``server_url``, given to git through its environment (never ``.git/config``, never argv)."""

    server_url: str
    username: str
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CommentRef:
    """Where a comment is: the pull request or issue ``number`` and the comment's own id.

    ``on_pull_request`` tells a pull (merge) request's conversation from a plain issue's: on
    GitLab they are numbered apart and reached by different endpoints."""

    number: int
    comment_id: int
    on_pull_request: bool = True


@dataclass(frozen=True, slots=True)
class PullRequestDraft:
    """What promoter wants the PR to say."""

    title: str
    body: str
    branch: str
    base: str
    labels: Sequence[str] = ()
    reviewers: Sequence[str] = ()
    assignees: Sequence[str] = ()
    draft: bool = False
    files: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request as the forge reports it."""

    number: int
    url: str
    branch: str
    title: str
    body: str
    state: PullState = PullState.OPEN
    merged: bool = False
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    """Reviews requested and not yet given (``org/team`` for a team)."""


class Forge(Protocol):
    """Pull requests and the bot's conversation on one repository."""

    name: str
    body_limit: int
    """The longest PR body the forge accepts, in characters."""
    comment_limit: int
    """The longest comment the forge accepts, in characters."""
    pull_reference: str
    """How people name a pull request here, as a template: ``pull request #{number}``
    (GitHub), ``merge request !{number}`` (GitLab); the forge links it."""

    def pulls(self, branch: str, state: PullState = PullState.OPEN) -> Sequence[PullRequest]:
        """Pull requests from ``branch`` of this repository in ``state``, newest first."""
        ...

    def create(self, draft: PullRequestDraft) -> PullRequest:
        """Open a new PR with the draft's labels, reviewers and assignees."""
        ...

    def update(self, number: int, draft: PullRequestDraft) -> PullRequest:
        """Make an open PR say what the draft says: title, body, labels, people."""
        ...

    def comment(self, number: int, body: str) -> None:
        """Add a comment to a PR or issue."""
        ...

    def reply(self, ref: CommentRef, body: str) -> None:
        """Answer a comment in its own conversation: the PR's, or the plain issue's."""
        ...

    def has_comment(self, number: int, body: str) -> bool:
        """Whether one of the latest comments on PR ``number`` (the newest 30 or so) is
        ``body``, posted by this forge's user where the forge says who posted."""
        ...

    def close(self, number: int) -> None:
        """Close a PR without merging it."""
        ...

    def react(self, ref: CommentRef, reaction: Reaction) -> None:
        """Add a reaction to a comment."""
        ...

    def role(self, user: str) -> Role:
        """The user's role in the repository, asked of the forge (never of an event)."""
        ...

    def is_bot(self, user: str) -> bool:
        """Whether ``user`` is a bot or the account the forge's token acts as: their comments
        are never commands. Asked before the bot writes anything."""
        ...

    def git_credentials(self) -> GitCredentials | None:
        """What the promotion branch is pushed with (the forge's token), or ``None`` to use
        git's own configuration (a local forge, an SSH remote)."""
        ...

    def image_url(self, commit: str, path: str, branch: str) -> str:
        """How the PR body shows an image committed at ``path``."""
        ...

    def file_url(self, commit: str, path: str, branch: str) -> str:
        """How the PR body links a file committed at ``path`` (the record)."""
        ...
