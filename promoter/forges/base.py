"""The narrow interface every forge implements, and the hidden marker that finds our PRs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

MARKER = re.compile(r"<!-- promoter:op=(?P<op>[^ <>]+) run=(?P<run>[0-9a-f]{32}) -->")


def marker(op: str, run_id: str) -> str:
    """The hidden line that identifies a promotion PR and the run it promotes."""
    safe_op = re.sub(r"[^A-Za-z0-9_.:/-]", "-", op) or "op"
    return f"<!-- promoter:op={safe_op} run={run_id} -->"


def marked_run(body: str) -> str | None:
    """The run id in a body's marker, or ``None`` when the body is not a promotion's."""
    found = MARKER.findall(body)
    return found[-1][1] if found else None


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
    """An open pull request as the forge reports it."""

    number: int
    url: str
    branch: str
    title: str
    body: str


class Forge(Protocol):
    """Opens and updates promotion pull requests."""

    name: str

    def find_open(self, branch: str) -> PullRequest | None:
        """The open promotion PR from ``branch`` (carrying our marker), if any."""
        ...

    def create(self, draft: PullRequestDraft) -> PullRequest:
        """Open a new PR."""
        ...

    def update(self, number: int, draft: PullRequestDraft) -> PullRequest:
        """Replace title, body and labels of an open PR."""
        ...

    def comment(self, number: int, body: str) -> None:
        """Add a comment to a PR."""
        ...

    def close(self, number: int) -> None:
        """Close a PR without merging it."""
        ...

    def image_url(self, commit: str, path: str, branch: str) -> str:
        """How the PR body shows an image committed at ``path``."""
        ...

    def file_url(self, commit: str, path: str, branch: str) -> str:
        """How the PR body links a file committed at ``path`` (the record)."""
        ...
