"""What the fake GitLab knows (``State``): users and their tokens, projects, and helpers that
seed them, their members, merge requests, issues and notes for a test.

Tests read and change it directly, under ``State.lock`` while a client may be talking to the
server; the objects themselves are in ``model``.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakegitlab.model import (
    DEFAULT_TOKEN,
    DEFAULT_USER,
    EMOJI,
    JOB_TOKEN,
    MAINTAINER,
    Issue,
    Label,
    Member,
    MergeRequest,
    Note,
    Project,
    User,
)


@dataclass
class State:
    """Everything the fake GitLab knows; change it from tests (under ``lock`` while serving)."""

    users: dict[int, User] = field(default_factory=dict)  # id -> user
    tokens: dict[str, int] = field(default_factory=dict)  # personal/project token -> user id
    job_tokens: dict[str, int] = field(default_factory=dict)  # CI_JOB_TOKEN -> user id
    projects: dict[int, Project] = field(default_factory=dict)  # id -> project
    namespaces: dict[str, int] = field(default_factory=dict)  # namespace path -> id
    emoji: set[str] = field(default_factory=lambda: set(EMOJI))
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100), repr=False)
    _taken: set[int] = field(default_factory=set, repr=False)

    @classmethod
    def with_defaults(cls) -> State:
        """``root`` (id 1, not an administrator, member of nothing) and the bot user
        ``promoter-bot`` with ``DEFAULT_TOKEN`` and ``JOB_TOKEN``; no projects."""
        state = cls()
        state.add_user("root", id=1, name="Administrator")
        state.add_user(DEFAULT_USER, name="promoter", bot=True)
        state.add_token(DEFAULT_TOKEN, DEFAULT_USER)
        state.add_job_token(JOB_TOKEN, DEFAULT_USER)
        return state

    def next_id(self) -> int:
        """A fresh id: every object kind draws from one counter, skipping ids tests chose."""
        with self.lock:
            while (n := next(self._ids)) in self._taken:
                pass
            self._taken.add(n)
            return n

    def _claim(self, id: int | None) -> int:
        if id is None:
            return self.next_id()
        self._taken.add(id)
        return id

    # --- users and tokens -------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        id: int | None = None,
        name: str | None = None,
        bot: bool = False,
        admin: bool = False,
    ) -> User:
        """The user ``username`` (usernames are case-insensitive), made if new."""
        with self.lock:
            user = self.user_named(username)
            if user is None:
                user = User(username, self._claim(id), name or username, bot=bot, admin=admin)
                self.users[user.id] = user
            return user

    def user_named(self, username: str) -> User | None:
        """The user ``username`` (any case), or None."""
        return next(
            (u for u in self.users.values() if u.username.lower() == username.lower()), None
        )

    def add_token(self, token: str, username: str) -> User:
        """Make ``token`` valid in ``PRIVATE-TOKEN`` and ``Authorization: Bearer``."""
        with self.lock:
            user = self.add_user(username)
            self.tokens[token] = user.id
            return user

    def add_job_token(self, token: str, username: str) -> User:
        """Make ``token`` a CI job token (``JOB-TOKEN`` header) acting for ``username``."""
        with self.lock:
            user = self.add_user(username)
            self.job_tokens[token] = user.id
            return user

    # --- projects and members ---------------------------------------------------------------

    def add_project(
        self,
        path: str,
        *,
        bare: Path | None = None,
        id: int | None = None,
        default_branch: str = "main",
        visibility: str = "private",
        bot_level: int | None = MAINTAINER,
    ) -> Project:
        """Project ``namespace/name`` (subgroups allowed); with ``bare``, its branches are that
        bare repository's. ``DEFAULT_USER`` becomes a member at ``bot_level`` (None: not one)."""
        with self.lock:
            namespace = path.rpartition("/")[0]
            if namespace not in self.namespaces:
                self.namespaces[namespace] = self.next_id()
            project = Project(
                path,
                self._claim(id),
                self.namespaces[namespace],
                bare=bare,
                default_branch=default_branch,
                visibility=visibility,
            )
            self.projects[project.id] = project
            if bot_level is not None:
                self.set_access(project, DEFAULT_USER, bot_level)
            return project

    def project(self, ref: int | str) -> Project:
        """A project by id or by path (case-insensitive); KeyError when unknown."""
        found = self.find_project(ref)
        if found is None:
            raise KeyError(ref)
        return found

    def find_project(self, ref: int | str) -> Project | None:
        """A project by id or by path (case-insensitive), or None."""
        if isinstance(ref, int) or ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p.path.lower() == ref.lower()), None)

    def set_access(self, project: Project | str, username: str, level: int | None) -> User:
        """Make ``username`` (made if new) a member at ``level``; None removes the membership."""
        with self.lock:
            target = project if isinstance(project, Project) else self.project(project)
            user = self.add_user(username)
            if level is None:
                target.members.pop(user.id, None)
            else:
                target.members[user.id] = Member(user.id, level)
            return user

    def ensure_label(self, project: Project, title: str) -> Label:
        """The project's label ``title``; GitLab creates a missing one when it is applied."""
        if title not in project.labels:
            project.labels[title] = Label(self.next_id(), title)
        return project.labels[title]

    # --- seeding merge requests, issues and notes -------------------------------------------

    def add_merge_request(
        self,
        project: Project | str,
        source_branch: str,
        target_branch: str,
        title: str,
        *,
        description: str | None = None,
        author: str = DEFAULT_USER,
        state: str = "opened",
        iid: int | None = None,
        id: int | None = None,
    ) -> MergeRequest:
        """A merge request made without the API's checks (the branches need not exist)."""
        with self.lock:
            target = project if isinstance(project, Project) else self.project(project)
            number = iid or max(target.merge_requests, default=0) + 1
            mr = MergeRequest(
                number,
                self._claim(id),
                title,
                self.add_user(author).id,
                source_branch,
                target_branch,
                description,
                state,
            )
            mr.last_sha = target.branch_sha(source_branch)
            target.merge_requests[number] = mr
            return mr

    def add_issue(
        self,
        project: Project | str,
        title: str,
        description: str | None = None,
        *,
        author: str = "root",
        iid: int | None = None,
        id: int | None = None,
    ) -> Issue:
        """An issue in ``project``."""
        with self.lock:
            target = project if isinstance(project, Project) else self.project(project)
            number = iid or max(target.issues, default=0) + 1
            issue = Issue(number, self._claim(id), title, self.add_user(author).id, description)
            target.issues[number] = issue
            return issue

    def add_note(
        self,
        project: Project | str,
        on: MergeRequest | Issue,
        body: str,
        *,
        author: str = "root",
        system: bool = False,
        id: int | None = None,
    ) -> Note:
        """A note on a merge request or issue; ``system`` makes it one of GitLab's own."""
        with self.lock:
            target = project if isinstance(project, Project) else self.project(project)
            kind = "MergeRequest" if isinstance(on, MergeRequest) else "Issue"
            user = self.add_user(author)
            note = Note(self._claim(id), kind, on.iid, user.id, body, system=system)
            target.notes[note.id] = note
            return note
