"""What the fake GitHub knows: users, tokens, repositories, issues and pulls, comments, labels.

Plain dataclasses that tests read and change directly (under ``State.lock`` while a client may be
talking to the server). Branches of a repository backed by a real bare git repository are read
live from it, so whatever real git pushed is what the API sees.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.repos import git

# GitHub's legacy ``permission`` for each built-in role: maintain reads as write, triage as read.
BASE_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}
ROLE_LEVEL = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
ACTIONS_BOT = "github-actions[bot]"
DEFAULT_USER = "octocat"
DEFAULT_TOKEN = "t"
ACTIONS_TOKEN = "ghs_fake_actions_token"


def now() -> str:
    """The current UTC time the way GitHub writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User", "Bot" or "Organization"
    name: str | None = None
    email: str | None = None


@dataclass
class Collaborator:
    role_name: str  # admin, maintain, write, triage, read, or a custom role
    permission: str  # the legacy base: admin, write or read

    @property
    def level(self) -> int:
        return ROLE_LEVEL.get(self.role_name, ROLE_LEVEL[self.permission])


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Reaction:
    id: int
    user: str
    content: str
    created_at: str = field(default_factory=now)


@dataclass
class Comment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class Pull:
    """What a pull request adds to its issue."""

    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    id: int
    draft: bool = False
    merged: bool = False
    maintainer_can_modify: bool = False
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[tuple[str, str]] = field(default_factory=list)
    """Reviews given, as (login, state): ``APPROVED``, ``CHANGES_REQUESTED``, ``COMMENTED``."""


@dataclass
class Issue:
    """An issue, or the issue half of a pull request (numbers are shared, as on GitHub)."""

    number: int
    id: int
    title: str
    user: str
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    closed_at: str | None = None
    reactions: list[Reaction] = field(default_factory=list)
    pull: Pull | None = None

    def touch(self) -> None:
        self.updated_at = now()


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    private: bool = True
    default_branch: str = "main"
    bare: Path | None = None  # a real bare repository: branches are read from it
    branches: dict[str, str] = field(default_factory=dict)  # name -> sha, when ``bare`` is None
    description: str | None = None
    collaborators: dict[str, Collaborator] = field(default_factory=dict)
    teams: set[str] = field(default_factory=set)  # team slugs reviews may be requested from
    labels: dict[str, Label] = field(default_factory=dict)  # lower-cased name -> label
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    created_at: str = field(default_factory=now)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def pulls(self) -> list[Issue]:
        """The issues that are pull requests, oldest first."""
        return [issue for issue in self.issues.values() if issue.pull is not None]

    def comments_on(self, number: int) -> list[Comment]:
        """The comments of issue or pull ``number``, oldest first."""
        return [c for c in self.comments.values() if c.issue_number == number]

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
        if self.bare is None:
            return sorted(self.branches)
        out = git(self.bare, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads/")
        return out.split()

    def commits_between(self, base_sha: str, head_sha: str) -> int:
        """How many commits ``head_sha`` has that ``base_sha`` lacks."""
        if self.bare is None:
            return 0 if base_sha == head_sha else 1
        return int(git(self.bare, "rev-list", "--count", f"{base_sha}..{head_sha}").strip())

    def commit_info(self, sha: str) -> dict[str, str] | None:
        """Author, committer, message, tree and parents of commit ``sha`` (bare repos only)."""
        if self.bare is None:
            return None
        fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        try:
            out = git(self.bare, "show", "-s", f"--format={fmt}", f"{sha}^{{commit}}", "--")
        except subprocess.CalledProcessError:
            return None
        keys = "sha tree parents author_name author_email author_date"
        keys += " committer_name committer_email committer_date message"
        return dict(zip(keys.split(), out.split("\x00"), strict=True))

    def role_of(self, login: str) -> Collaborator | None:
        """The user's role here: the owner is admin; None when not a collaborator."""
        if login.lower() == self.owner.lower():
            return Collaborator("admin", "admin")
        return self.collaborators.get(login.lower())


@dataclass
class State:
    """Everything the fake GitHub knows; change it from tests (under ``lock`` while serving)."""

    users: dict[str, User] = field(default_factory=dict)  # lower-cased login -> user
    tokens: dict[str, str] = field(default_factory=dict)  # token -> login
    repos: dict[str, Repo] = field(default_factory=dict)  # lower-cased full name -> repo
    # When set, POST /pulls made with the GitHub Actions token answers 403 (the repository
    # setting "Allow GitHub Actions to create and approve pull requests" is off).
    actions_cannot_create_prs: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001), repr=False)

    @classmethod
    def with_defaults(cls) -> State:
        """``octocat`` with token ``t`` and the Actions bot with ``ACTIONS_TOKEN``; no repos."""
        state = cls()
        state.add_token(DEFAULT_TOKEN, DEFAULT_USER)
        state.add_user(ACTIONS_BOT, type="Bot", id=41898282)
        state.add_token(ACTIONS_TOKEN, ACTIONS_BOT)
        return state

    def next_id(self) -> int:
        return next(self._ids)

    def add_user(self, login: str, *, type: str = "User", id: int | None = None) -> User:
        """The user ``login``, made if new."""
        with self.lock:
            if login.lower() not in self.users:
                self.users[login.lower()] = User(login, id or self.next_id(), type)
            return self.users[login.lower()]

    def user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    def add_token(self, token: str, login: str) -> User:
        """Make ``token`` valid, acting as ``login`` (made if new)."""
        with self.lock:
            user = self.add_user(login)
            self.tokens[token] = user.login
            return user

    def add_repo(
        self,
        full_name: str,
        *,
        bare: Path | None = None,
        private: bool = True,
        default_branch: str = "main",
        owner_type: str = "User",
    ) -> Repo:
        """A repository ``owner/name``; with ``bare``, its branches are that bare repository's."""
        owner, name = full_name.split("/")
        with self.lock:
            self.add_user(owner, type=owner_type)
            repo = Repo(owner, name, self.next_id(), private, default_branch, bare)
            self.repos[full_name.lower()] = repo
            return repo

    def repo(self, full_name: str) -> Repo:
        return self.repos[full_name.lower()]

    def set_permission(
        self, full_name: str, login: str, role: str | None, *, base: str | None = None
    ) -> None:
        """Make ``login`` a collaborator with ``role`` (None removes them). A custom role needs
        ``base``, its legacy permission (admin, write or read)."""
        with self.lock:
            repo = self.repo(full_name)
            self.add_user(login)
            if role is None:
                repo.collaborators.pop(login.lower(), None)
                return
            permission = base or BASE_PERMISSION[role]
            repo.collaborators[login.lower()] = Collaborator(role, permission)

    def add_issue(
        self, full_name: str, title: str, body: str | None = None, user: str = ""
    ) -> Issue:
        """A plain issue (not a pull request) in ``full_name``."""
        with self.lock:
            repo = self.repo(full_name)
            issue = Issue(self.next_number(repo), self.next_id(), title, user or repo.owner, body)
            repo.issues[issue.number] = issue
            return issue

    @staticmethod
    def next_number(repo: Repo) -> int:
        return max(repo.issues, default=0) + 1

    def ensure_label(self, repo: Repo, name: str) -> Label:
        """The repository's label ``name``; GitHub creates a missing one when it is applied."""
        label = repo.labels.get(name.lower())
        if label is None:
            label = repo.labels[name.lower()] = Label(self.next_id(), name)
        return label
