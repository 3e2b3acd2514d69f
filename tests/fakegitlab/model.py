"""The objects of the fake GitLab: users, members, labels, projects, merge requests, issues,
notes and award emoji.

Plain dataclasses that tests read and change directly (under ``State.lock`` while a client may be
talking to the server). A project backed by a real bare git repository reads its branches live
from it, so whatever real git pushed is what the API sees.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.repos import git

# GitLab's access levels (docs: "Roles and permissions"; 15 Planner is newer and rarely seen).
GUEST, PLANNER, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 15, 20, 30, 40, 50
DEFAULT_USER = "promoter-bot"  # a project access token's bot user: it opens the MRs
DEFAULT_TOKEN = "glpat-fake-token"
JOB_TOKEN = "glcbt-fake-job-token"  # CI_JOB_TOKEN of a job started for DEFAULT_USER
# GitLab's draft prefixes (Gitlab::Regex.merge_request_draft): only at the start, any case.
DRAFT = re.compile(r"\A(\[draft\]|\(draft\)|draft:)", re.IGNORECASE)
# Emoji names the fake accepts; GitLab checks names against its full emoji list (+1 and -1 are
# stored as thumbsup and thumbsdown). Tests may add names to ``State.emoji``.
_EMOJI_NAMES = """thumbsup thumbsdown eyes rocket confused tada heart smile star laughing
hourglass warning x white_check_mark fire 100 thinking"""
EMOJI = frozenset(_EMOJI_NAMES.split())
EMOJI_ALIASES = {"+1": "thumbsup", "-1": "thumbsdown"}


def now() -> str:
    """The current UTC time the way GitLab's API writes it (milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class User:
    """A GitLab account (a person, or the bot user of an access token)."""

    username: str
    id: int
    name: str
    bot: bool = False  # project and group access tokens act as bot users
    admin: bool = False  # an administrator reads and writes every project
    state: str = "active"
    email: str | None = None
    created_at: str = field(default_factory=now)


@dataclass
class Member:
    """A user's membership of one project."""

    user_id: int
    access_level: int
    created_at: str = field(default_factory=now)
    expires_at: str | None = None


@dataclass
class Label:
    """A project label; GitLab makes one when a merge request first uses its title."""

    id: int
    name: str
    color: str = "#6699cc"
    description: str | None = None


@dataclass
class AwardEmoji:
    """One emoji one user gave a merge request, an issue or a note."""

    id: int
    name: str
    user_id: int
    awardable_type: str  # "MergeRequest", "Issue" or "Note"
    awardable_id: int  # the global id of the merge request, issue or note
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class Note:
    """A comment on a merge request or an issue, or a system note."""

    id: int
    noteable_type: str  # "MergeRequest" or "Issue"
    noteable_iid: int
    author_id: int
    body: str
    system: bool = False  # GitLab's own notes ("added 1 commit", "changed the description")
    internal: bool = False
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    awards: list[AwardEmoji] = field(default_factory=list)


@dataclass
class Issue:
    """An issue; its ``iid`` is its number in the project (``#iid``)."""

    iid: int
    id: int
    title: str
    author_id: int
    description: str | None = None
    state: str = "opened"  # opened or closed
    labels: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    closed_at: str | None = None
    awards: list[AwardEmoji] = field(default_factory=list)

    def touch(self) -> None:
        """Mark it updated now."""
        self.updated_at = now()


@dataclass
class MergeRequest:
    """A merge request; ``iid`` is its number in the project (``!iid``), ``id`` is global."""

    iid: int
    id: int
    title: str
    author_id: int
    source_branch: str
    target_branch: str
    description: str | None = None
    state: str = "opened"  # opened, closed, merged (locked is transitional)
    labels: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    force_remove_source_branch: bool = False
    squash: bool = False
    discussion_locked: bool | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    closed_at: str | None = None
    closed_by_id: int | None = None
    merged_at: str | None = None
    merged_by_id: int | None = None
    last_sha: str | None = None  # the source head when last seen open: kept once closed
    awards: list[AwardEmoji] = field(default_factory=list)

    @property
    def draft(self) -> bool:
        """True when the title starts with ``Draft:``, ``[Draft]`` or ``(Draft)``, as GitLab."""
        return bool(DRAFT.match(self.title))

    def touch(self) -> None:
        self.updated_at = now()


@dataclass
class Project:
    """A project, with everything in it."""

    path: str  # "namespace/name"; GitLab's path_with_namespace
    id: int
    namespace_id: int
    bare: Path | None = None  # a real bare repository: branches are read from it
    branches: dict[str, str] = field(default_factory=dict)  # name -> sha, when ``bare`` is None
    default_branch: str = "main"
    visibility: str = "private"  # private, internal or public
    description: str | None = None
    members: dict[int, Member] = field(default_factory=dict)  # user id -> member
    labels: dict[str, Label] = field(default_factory=dict)  # title -> label (case-sensitive)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)  # iid -> MR
    issues: dict[int, Issue] = field(default_factory=dict)  # iid -> issue
    notes: dict[int, Note] = field(default_factory=dict)  # note id -> note (MRs' and issues')
    created_at: str = field(default_factory=now)

    @property
    def name(self) -> str:
        """The last part of the path."""
        return self.path.rpartition("/")[2]

    @property
    def namespace(self) -> str:
        """The path of the group (or user) the project is in."""
        return self.path.rpartition("/")[0]

    def notes_on(self, noteable_type: str, iid: int) -> list[Note]:
        """The notes of one merge request or issue, oldest first."""
        return [
            n
            for n in self.notes.values()
            if (n.noteable_type, n.noteable_iid) == (noteable_type, iid)
        ]

    def access_level(self, user: User) -> int:
        """The user's access level here: 0 when not a member (administrators count as Owner)."""
        if user.admin:
            return OWNER
        member = self.members.get(user.id)
        return member.access_level if member else 0

    def branch_sha(self, branch: str) -> str | None:
        """The commit branch ``branch`` points at, or None if it does not exist."""
        if self.bare is None:
            return self.branches.get(branch)
        try:
            out = git(
                self.bare, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"
            )
        except subprocess.CalledProcessError:
            return None
        return out.strip() or None

    def branch_names(self) -> list[str]:
        """Every branch, by name."""
        if self.bare is None:
            return sorted(self.branches)
        out = git(self.bare, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads/")
        return out.split()

    def commit_info(self, sha: str) -> dict[str, str] | None:
        """Author, committer, dates, parents and message of commit ``sha`` (bare repos only)."""
        if self.bare is None:
            return None
        fmt = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        try:
            out = git(self.bare, "show", "-s", f"--format={fmt}", f"{sha}^{{commit}}", "--")
        except subprocess.CalledProcessError:
            return None
        keys = "sha parents author_name author_email authored_date"
        keys += " committer_name committer_email committed_date message"
        return dict(zip(keys.split(), out.split("\x00"), strict=True))

    def merge_base(self, one: str, other: str) -> str:
        """The best common ancestor of two commits (``one`` without a bare repository)."""
        if self.bare is None:
            return one
        try:
            return git(self.bare, "merge-base", one, other).strip()
        except subprocess.CalledProcessError:
            return one

    def changed_files(self, base: str, head: str) -> int:
        """How many files differ between two commits (0 without a bare repository)."""
        if self.bare is None or base == head:
            return 0
        return len(git(self.bare, "diff", "--name-only", base, head, "--").split())
