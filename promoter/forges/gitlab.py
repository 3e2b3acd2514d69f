"""GitLab (gitlab.com and self-managed) through python-gitlab: promotion merge requests, notes,
award emoji and access levels.

python-gitlab is imported when the forge is made, never by ``promoter select`` and friends.
The one promotion MR of a track is found by its source branch (in this project, not a fork)
and the hidden marker; people's usernames are resolved to the ids GitLab's API takes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

from promoter.errors import PromoterError, UsageError
from promoter.forges.base import (
    CommentRef,
    GitCredentials,
    PullRequest,
    PullRequestDraft,
    PullState,
    Reaction,
    Role,
)
from promoter.forges.gitlab_client import GitLabApiError, GitLabClient, Limits
from promoter.forges.markers import marked_run

if TYPE_CHECKING:
    from gitlab.v4.objects import Project

log = logging.getLogger("promoter")

T = TypeVar("T")

DESCRIPTION_LIMIT: Final = 1_048_576  # Issuable::DESCRIPTION_LENGTH_MAX
NOTE_LIMIT: Final = 1_000_000  # Note: validates :note, length: { maximum: 1_000_000 }
DRAFT_PREFIX: Final = "Draft: "
# GitLab's own draft prefixes (Gitlab::Regex.merge_request_draft): any case, at the start.
_DRAFT = re.compile(r"\A(\[draft\]|\(draft\)|draft:)\s*", re.IGNORECASE)
# access_level -> role, per SPEC: Guest 10 read, Reporter 20 triage, Developer 30 write,
# Maintainer 40 maintain, Owner 50 admin (Planner 15 reads; Minimal Access 5 is nothing).
LEVELS: Final = ((50, Role.ADMIN), (40, Role.MAINTAIN), (30, Role.WRITE), (20, Role.TRIAGE))
ALREADY_AWARDED: Final = "has already been taken"
FOREIGN_MR: Final = (
    "merge request !{iid} from {branch} was not opened by promoter (no promoter marker in its "
    "description): close it or set pr.branch to another branch"
)
NO_API_V4: Final = "CI_API_V4_URL {url!r} does not end in /api/v4"
UNKNOWN_USER: Final = "pr.{key}: no GitLab user {name!r}: left out"


@dataclass(frozen=True, slots=True)
class GitLabSettings:
    """Which project, on which instance, with which token."""

    project: str
    """The project's path with its namespace (``group/sub/name``), as in ``CI_PROJECT_PATH``."""
    token: str = field(repr=False)
    server_url: str = "https://gitlab.com"
    """The instance (``CI_SERVER_URL``), with its relative URL root if it has one."""
    api_url: str | None = None
    """``CI_API_V4_URL``; default ``<server_url>/api/v4``."""
    limits: Limits = field(default_factory=Limits)

    @property
    def instance_url(self) -> str:
        """What python-gitlab takes: the API root without ``/api/v4``."""
        if not self.api_url:
            return self.server_url.rstrip("/")
        api = self.api_url.rstrip("/")
        if not api.endswith("/api/v4"):
            raise UsageError(NO_API_V4.format(url=self.api_url))
        return api.removesuffix("/api/v4")

    @property
    def project_url(self) -> str:
        """The project's web page (``CI_PROJECT_URL``)."""
        return f"{self.server_url.rstrip('/')}/{self.project}"


class GitLabForge:
    """Promotion merge requests on one GitLab project."""

    name = "gitlab"
    body_limit = DESCRIPTION_LIMIT
    comment_limit = NOTE_LIMIT
    pull_reference = "merge request !{number}"

    def __init__(self, settings: GitLabSettings, client: GitLabClient | None = None) -> None:
        self.settings = settings
        self.client = client or GitLabClient(settings.instance_url, settings.token, settings.limits)
        self._project: Project = self.client.gl.projects.get(settings.project, lazy=True)
        self._ids: dict[str, int | None] = {}
        self._me: str | None = None

    def pulls(self, branch: str, state: PullState = PullState.OPEN) -> list[PullRequest]:
        """MRs from ``branch`` of this project (not of forks) in ``state``, newest first; a
        merged MR counts as closed, as on GitHub."""
        wanted = "opened" if state is PullState.OPEN else "all"
        found = self._call(
            lambda: self._project.mergerequests.list(
                source_branch=branch,
                state=wanted,
                order_by="created_at",
                sort="desc",
                get_all=True,
            ),
            f"list the merge requests from {branch}",
        )
        pulls = [_pull(mr.asdict()) for mr in found if _ours(mr.asdict(), branch)]
        return [p for p in pulls if p.state is state]

    def create(self, draft: PullRequestDraft) -> PullRequest:
        """Open the MR with its labels and people. A retry after a lost answer finds the MR
        the first attempt made; GitLab's 409 (an open MR from the branch already) leads to it
        too, and is refused when that MR is not a promotion."""
        data = {"source_branch": draft.branch, "target_branch": draft.base, **self._fields(draft)}
        try:
            pull = self._call(
                lambda: _pull(self._project.mergerequests.create(data).asdict()),
                "open the merge request",
                recover=lambda: self._marked(draft.branch),
            )
        except GitLabApiError as e:
            if e.status != 409:
                raise
            existing = self._marked(draft.branch)
            if existing is None:
                iid = re.search(r"!(\d+)", e.detail)
                shown = iid.group(1) if iid else "?"
                raise PromoterError(FOREIGN_MR.format(iid=shown, branch=draft.branch)) from e
            log.info("merge request !%d already open from %s", existing.number, draft.branch)
            return self.update(existing.number, draft)
        log.info("opened merge request !%d", pull.number)
        return pull

    def update(self, number: int, draft: PullRequestDraft) -> PullRequest:
        """Make an open MR say what the draft says, changing only what differs, in one
        ``PUT`` or none: labels and people are added, never taken away (people's own stay),
        and nobody is asked to review twice."""
        current = self._call(
            lambda: self._project.mergerequests.get(number).asdict(),
            f"read merge request !{number}",
        )
        fields = self._changes(current, draft)
        if not fields:
            return _pull(current)
        data = self._call(
            lambda: self._project.mergerequests.update(number, fields),
            f"update merge request !{number}",
        )
        return _pull(data)

    def comment(self, number: int, body: str) -> None:
        """A note on merge request ``number``."""
        self._note(self._project.mergerequests.get(number, lazy=True), f"!{number}", body)

    def has_comment(self, number: int, body: str) -> bool:
        """Whether one of the newest notes on merge request ``number`` is the token user's
        ``body``."""
        notes = self._project.mergerequests.get(number, lazy=True).notes
        return self._said(notes, body, f"!{number}")

    def reply(self, ref: CommentRef, body: str) -> None:
        """A note in the conversation of ``ref``: its merge request's, or its issue's."""
        if ref.on_pull_request:
            self.comment(ref.number, body)
            return
        self._note(self._project.issues.get(ref.number, lazy=True), f"#{ref.number}", body)

    def close(self, number: int) -> None:
        """Close an MR without merging it (``state_event=close``)."""
        self._call(
            lambda: self._project.mergerequests.update(number, {"state_event": "close"}),
            f"close merge request !{number}",
        )

    def react(self, ref: CommentRef, reaction: Reaction) -> None:
        """An award emoji on the note (``eyes``, ``rocket``, ``confused`` are GitLab's names
        too); one already given by the bot counts as given."""
        issuables = self._project.mergerequests if ref.on_pull_request else self._project.issues
        note = issuables.get(ref.number, lazy=True).notes.get(ref.comment_id, lazy=True)
        try:
            self._call(
                lambda: note.awardemojis.create({"name": reaction.value}),
                f"award {reaction.value} to note {ref.comment_id}",
            )
        except GitLabApiError as e:
            # GitLab answers a second award of the same emoji with a 404 saying so.
            if e.status != 404 or ALREADY_AWARDED not in e.detail:
                raise

    def role(self, user: str) -> Role:
        """The user's access level in the project (inherited from groups included), asked of
        ``GET /projects/:id/members/all/:user_id``; no member, no role."""
        user_id = self._user_id(user)
        if user_id is None:
            return Role.NONE
        try:
            member = self._call(
                lambda: self._project.members_all.get(user_id), f"read {user}'s access level"
            )
        except GitLabApiError as e:
            if e.status == 404:
                return Role.NONE
            raise
        data = member.asdict()
        if data.get("membership_state", "active") != "active" or data.get("state") == "blocked":
            return Role.NONE
        return role_of(int(data.get("access_level") or 0))

    def is_bot(self, user: str) -> bool:
        """The token's own user (its replies are notes too), or any user GitLab marks as a
        bot (project and group access tokens, service accounts, GitLab's own bots)."""
        if user.lower() == self._token_user().lower():
            return True
        user_id = self._user_id(user)
        if user_id is None:
            return False
        found = self._call(lambda: self.client.gl.users.get(user_id), f"read user {user}")
        return bool(found.asdict().get("bot"))

    def git_credentials(self) -> GitCredentials:
        """The token as GitLab takes it over HTTPS (``oauth2`` for any personal, project or
        group access token), for the instance's URL only. The API is asked who the token is
        first: a wrong token fails here in one clear line, not as git's "Authentication
        failed", and before anything is fetched or pushed."""
        self._token_user()
        return GitCredentials(self.settings.server_url, "oauth2", self.settings.token)

    def image_url(self, commit: str, path: str, branch: str) -> str:
        """``<project>/-/raw/<sha>/<path>``: pinned to the commit, and shown to signed-in
        members of a private project (GitLab checks the reader's session)."""
        return f"{self.settings.project_url}/-/raw/{commit}/{quote(path)}"

    def file_url(self, commit: str, path: str, branch: str) -> str:
        """The web page of a file at a commit."""
        return f"{self.settings.project_url}/-/blob/{commit}/{quote(path)}"

    # --- helpers --------------------------------------------------------------------------

    def _fields(self, draft: PullRequestDraft) -> dict[str, Any]:
        """A new MR's title, description, labels and people."""
        data: dict[str, Any] = {"title": _title(draft), "description": draft.body}
        if draft.labels:
            data["labels"] = ",".join(draft.labels)
        for key, names in (("assignee_ids", draft.assignees), ("reviewer_ids", draft.reviewers)):
            if names:
                data[key] = self._user_ids(key.split("_")[0] + "s", names)
        return data

    def _changes(self, current: Mapping[str, Any], draft: PullRequestDraft) -> dict[str, Any]:
        """What an open MR lacks of the draft (GitLab sets people by id lists: ours are added
        to those already there)."""
        data: dict[str, Any] = {}
        if current.get("title") != _title(draft):
            data["title"] = _title(draft)
        if (current.get("description") or "") != draft.body:
            data["description"] = draft.body
        missing = [label for label in draft.labels if label not in _labels(current)]
        if missing:
            data["add_labels"] = ",".join(missing)
        for key, people, names in (
            ("assignee_ids", "assignees", draft.assignees),
            ("reviewer_ids", "reviewers", draft.reviewers),
        ):
            have = [int(u["id"]) for u in current.get(people) or [] if isinstance(u, Mapping)]
            wanted = [i for i in self._user_ids(people, names) if i not in have] if names else []
            if wanted:
                data[key] = have + wanted
        return data

    def _user_ids(self, key: str, names: Sequence[str]) -> list[int]:
        ids = []
        for name in names:
            user_id = self._user_id(name.lstrip("@"))
            if user_id is None:
                log.warning(UNKNOWN_USER.format(key=key, name=name))
            else:
                ids.append(user_id)
        return ids

    def _user_id(self, username: str) -> int | None:
        """A username's id (``GET /users?username=``), asked once per name."""
        if username not in self._ids:
            found = self._call(
                lambda: self.client.gl.users.list(username=username, get_all=False),
                f"find user {username}",
            )
            match = [u for u in found if str(u.username).lower() == username.lower()]
            self._ids[username] = int(match[0].id) if match else None
        return self._ids[username]

    def _token_user(self) -> str:
        if self._me is None:
            me = self._call(lambda: self.client.gl.http_get("/user"), "read the token's user")
            assert isinstance(me, Mapping)
            self._me = str(me.get("username") or "")
        return self._me

    def _marked(self, branch: str) -> PullRequest | None:
        """The open promotion MR from ``branch`` (carrying our marker), if any."""
        return next((p for p in self.pulls(branch) if marked_run(p.body)), None)

    def _note(self, issuable: Any, shown: str, body: str) -> None:
        """A note, created once: after a lost answer, the token's own note with this body
        (among the newest) is the first attempt's."""

        def recover() -> bool | None:
            return True if self._said(issuable.notes, body, shown) else None

        self._call(lambda: issuable.notes.create({"body": body}), f"note on {shown}", recover)

    def _said(self, notes: Any, body: str, shown: str) -> bool:
        """Whether the token's user wrote ``body`` among the newest notes of ``notes``."""

        def newest() -> list[dict[str, Any]]:
            found = notes.list(order_by="created_at", sort="desc", get_all=False)
            return [n.asdict() for n in found]

        me = self._token_user()
        return any(_note_by(n, me, body) for n in self._call(newest, f"list the notes on {shown}"))

    def _call(
        self, action: Callable[[], T], what: str, recover: Callable[[], T | None] | None = None
    ) -> T:
        return self.client.call(action, what, recover)


def role_of(access_level: int) -> Role:
    """The role of a GitLab access level (SPEC's mapping)."""
    for level, role in LEVELS:
        if access_level >= level:
            return role
    return Role.READ if access_level >= 10 else Role.NONE


def _ours(data: Mapping[str, Any], branch: str) -> bool:
    """An MR from ``branch`` of the project itself (a fork's MR may use the same name)."""
    same = data.get("source_project_id") == data.get("target_project_id")
    return same and data.get("source_branch") == branch


def _note_by(data: Mapping[str, Any], username: str, body: str) -> bool:
    author = data.get("author") or {}
    return author.get("username") == username and data.get("body") == body


def _title(draft: PullRequestDraft) -> str:
    title = _DRAFT.sub("", draft.title)
    return DRAFT_PREFIX + title if draft.draft else title


def _labels(data: Mapping[str, Any]) -> list[str]:
    """Label names (GitLab lists names, or objects with ``with_labels_details``)."""
    return [str(x.get("name") if isinstance(x, Mapping) else x) for x in data.get("labels") or []]


def _usernames(data: Mapping[str, Any], field: str) -> tuple[str, ...]:
    return tuple(str(u.get("username")) for u in data.get(field) or [] if isinstance(u, Mapping))


def _pull(data: Mapping[str, Any]) -> PullRequest:
    state = data.get("state")
    return PullRequest(
        number=int(data["iid"]),
        url=str(data.get("web_url") or ""),
        branch=str(data.get("source_branch") or ""),
        title=str(data.get("title") or ""),
        body=str(data.get("description") or ""),
        state=PullState.OPEN if state in ("opened", "locked") else PullState.CLOSED,
        merged=state == "merged",
        labels=tuple(_labels(data)),
        assignees=_usernames(data, "assignees"),
        reviewers=_usernames(data, "reviewers"),
    )
