"""GitHub (and GitHub Enterprise) through PyGithub: promotion PRs, comments, reactions.

PyGithub is imported when a forge is made, not when promoter starts: ``promoter select`` and
friends never pay for it.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from promoter.errors import PromoterError
from promoter.forges.base import (
    CommentRef,
    GitCredentials,
    PullRequest,
    PullRequestDraft,
    PullState,
    Reaction,
    Role,
)

if TYPE_CHECKING:
    from github.PullRequest import PullRequest as GhPull
    from github.Repository import Repository
    from urllib3.util.retry import Retry

log = logging.getLogger("promoter")

ACTIONS_CANNOT_CREATE_PRS = (
    "GitHub refused to open the pull request: 'Allow GitHub Actions to create and approve pull "
    "requests' is off for this repository or organization (Settings > Actions > General), or "
    "use a GitHub App or personal access token as the action's `token` input"
)
BAD_CREDENTIALS = (
    "GitHub rejected the token (401 Bad credentials): check the action's `token` input "
    "(default: github.token) and that it is not expired"
)
BODY_LIMIT = 65_536

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    """Where the repository is and how to reach it."""

    repository: str
    token: str
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0
    retries: int = 6
    timeout: int = 20
    """Seconds a request may take (connect, then each read): nothing hangs."""
    longest_wait: float = 60.0
    """The most one retry waits, whatever ``Retry-After`` asks: retries stay bounded in time."""

    def paced(self, factor: float) -> GitHubSettings:
        """PyGithub's pauses between requests scaled by ``factor`` (0 for a local fake)."""
        return replace(
            self,
            seconds_between_requests=self.seconds_between_requests * factor,
            seconds_between_writes=self.seconds_between_writes * factor,
        )


class GitHubForge:
    """Promotion PRs on one GitHub repository."""

    name = "github"
    body_limit = BODY_LIMIT
    comment_limit = BODY_LIMIT
    pull_reference = "pull request #{number}"

    def __init__(self, settings: GitHubSettings) -> None:
        from github import Auth, Github

        self.settings = settings
        self._github, self._once = (
            Github(
                base_url=settings.api_url.rstrip("/"),
                auth=Auth.Token(settings.token),
                retry=_retry(settings, after_errors=after_errors),
                timeout=settings.timeout,
                seconds_between_requests=settings.seconds_between_requests,
                seconds_between_writes=settings.seconds_between_writes,
            )
            for after_errors in (True, False)
        )
        self._repo: Repository | None = None

    @property
    def repo(self) -> Repository:
        """The repository (fetched once)."""
        if self._repo is None:
            self._repo = self._call(lambda: self._github.get_repo(self.settings.repository))
        return self._repo

    def pulls(self, branch: str, state: PullState = PullState.OPEN) -> list[PullRequest]:
        """PRs from ``branch`` of this repository (not of forks) in ``state``, newest first."""
        owner = self.settings.repository.split("/", 1)[0]

        def listed() -> list[PullRequest]:
            found = self.repo.get_pulls(
                state=state.value, head=f"{owner}:{branch}", sort="created", direction="desc"
            )
            return [_pull(p) for p in found if p.head.ref == branch]

        return self._call(listed)

    def create(self, draft: PullRequestDraft) -> PullRequest:
        """Open the PR, then set labels, assignees and reviewers.

        When GitHub says a PR from the branch already exists (our first request did open it,
        and its answer was lost before a retry), that PR is made to say what the draft says.
        """
        try:
            pull = self._call(
                lambda: self.repo.create_pull(
                    base=draft.base,
                    head=draft.branch,
                    title=draft.title,
                    body=draft.body,
                    draft=draft.draft,
                )
            )
        except PromoterError as e:
            existing = self._opened_meanwhile(e, draft.branch)
            if existing is None:
                raise
            log.info("pull request #%d already existed: updating it", existing.number)
            return self.update(existing.number, draft)
        self._decorate(pull, draft)
        log.info("opened pull request #%d", pull.number)
        return _pull(pull)

    def update(self, number: int, draft: PullRequestDraft) -> PullRequest:
        """Make an open PR say what the draft says, changing only what differs (no edit, no
        label and no review request twice: reviewers are not notified again)."""
        pull = self._call(lambda: self.repo.get_pull(number))
        if pull.title != draft.title or (pull.body or "") != draft.body:
            self._call(lambda: pull.edit(title=draft.title, body=draft.body))
        self._decorate(pull, draft)
        return _pull(self._call(lambda: self.repo.get_pull(number)))

    def comment(self, number: int, body: str) -> None:
        """A comment on a PR or issue, said once. Posting one is not idempotent: after a lost
        answer (a dropped connection, a timeout, a 5xx) it is posted again only when the
        conversation does not hold it already."""
        url = f"/repos/{self.settings.repository}/issues/{number}/comments"
        for attempt in range(self.settings.retries + 1):
            try:
                self._call(
                    lambda: self._once.requester.requestJsonAndCheck(
                        "POST", url, input={"body": body}
                    )
                )
                return
            except PromoterError as e:
                if attempt == self.settings.retries or not _maybe_done(e):
                    raise
            if self.has_comment(number, body):
                log.info("the comment on #%d was posted; its answer was lost", number)
                return
            time.sleep(min(self.settings.longest_wait, 0.5 * 2**attempt))

    def reply(self, ref: CommentRef, body: str) -> None:
        """A comment in the conversation of ``ref`` (PRs and issues share GitHub's numbers)."""
        self.comment(ref.number, body)

    def close(self, number: int) -> None:
        """Close a PR without merging it."""
        self._call(lambda: self.repo.get_pull(number).edit(state="closed"))

    def react(self, ref: CommentRef, reaction: Reaction) -> None:
        """A reaction on an issue or PR comment (GitHub's contents are the same words)."""

        # One request, no repository fetch first: this is the bot's first sign of life.
        url = f"/repos/{self.settings.repository}/issues/comments/{ref.comment_id}/reactions"
        self._call(
            lambda: self._github.requester.requestJsonAndCheck(
                "POST", url, input={"content": reaction.value}
            )
        )

    def role(self, user: str) -> Role:
        """The user's role on the repository (a custom role falls back to the base
        permission GitHub reports for it; no collaborator is ``Role.NONE``)."""
        from github import GithubException

        try:
            name = self._call(lambda: self.repo.get_collaborator_role_name(user))
        except PromoterError as e:
            if isinstance(e.__cause__, GithubException) and e.__cause__.status == 404:
                return Role.NONE
            raise
        if name.upper() not in Role.__members__:
            name = self._call(lambda: self.repo.get_collaborator_permission(user))
        return Role.named(name) if name.upper() in Role.__members__ else Role.NONE

    def is_bot(self, user: str) -> bool:
        """GitHub Apps (the workflow's own token included) comment as ``<name>[bot]``; the
        event already says ``type: Bot``, so nothing is asked of the API."""
        return user.lower().endswith("[bot]")

    def git_credentials(self) -> GitCredentials:
        """The token, as GitHub takes it over HTTPS (App installation tokens, PATs and the
        workflow's token alike): pushes made with an App or PAT token start workflows."""
        return GitCredentials(self.settings.server_url, "x-access-token", self.settings.token)

    def image_url(self, commit: str, path: str, branch: str) -> str:
        """A blob link at the commit SHA with ``?raw=true``: GitHub redirects it to a
        short-lived raw URL for signed-in readers, so images show in private repositories."""
        return f"{self.blob_url(commit, path)}?raw=true"

    def file_url(self, commit: str, path: str, branch: str) -> str:
        """The web page of a file at a commit."""
        return self.blob_url(commit, path)

    def commit_url(self, commit: str) -> str:
        """The web page of a commit."""
        server = self.settings.server_url.rstrip("/")
        return f"{server}/{self.settings.repository}/commit/{commit}"

    def blob_url(self, commit: str, path: str) -> str:
        """The web page of a file at a commit."""
        server = self.settings.server_url.rstrip("/")
        return f"{server}/{self.settings.repository}/blob/{commit}/{quote(path)}"

    def _decorate(self, pull: GhPull, draft: PullRequestDraft) -> None:
        """Add the labels, assignees and review requests the PR lacks (people's own stay)."""
        labels = [x for x in draft.labels if x not in {label.name for label in pull.labels}]
        if labels:
            self._call(lambda: pull.add_to_labels(*labels))
        have = {a.login.lower() for a in pull.assignees}
        assignees = [a for a in draft.assignees if a.lower() not in have]
        if assignees:
            self._call(lambda: pull.add_to_assignees(*assignees))
        users, teams = _split_reviewers(draft.reviewers)
        asked = {u.login.lower() for u in pull.requested_reviewers}
        users = [u for u in users if u.lower() not in asked]
        teams = [t for t in teams if t not in {team.slug for team in pull.requested_teams}]
        if users:
            # Someone who already reviewed is not asked again.
            reviewed = {r.user.login.lower() for r in self._call(lambda: list(pull.get_reviews()))}
            users = [u for u in users if u.lower() not in reviewed]
        if users or teams:
            self._call(lambda: pull.create_review_request(reviewers=users, team_reviewers=teams))

    def has_comment(self, number: int, body: str) -> bool:
        """Whether one of the latest 30 comments on ``number`` says ``body``."""

        def latest() -> list[str]:
            newest_first = self.repo.get_issue(number).get_comments().reversed
            return [c.body for c in itertools.islice(newest_first, 30)]

        return body in self._call(latest)

    def _opened_meanwhile(self, error: PromoterError, branch: str) -> PullRequest | None:
        from github import GithubException

        cause = error.__cause__
        if not (isinstance(cause, GithubException) and cause.status == 422):
            return None
        if "already exists" not in _message(cause):
            return None
        return next(iter(self.pulls(branch)), None)

    def _call(self, action: Callable[[], T]) -> T:
        with _github_errors():
            return action()


def _retry(settings: GitHubSettings, *, after_errors: bool = True) -> Retry:
    """5xx, 429 and secondary rate limits retried, on every method, with backoff or
    ``Retry-After``, each wait capped (PyGithub's default retries neither 429 nor PATCH).

    Without ``after_errors`` (for requests that are not idempotent: a comment), only answers
    that say nothing was done (429, rate limits) and connections that never opened are
    retried; a lost answer or a 5xx is left to the caller, who checks before trying again.
    """
    from github import GithubRetry
    from urllib3.util.retry import Retry

    class _BoundedRetry(GithubRetry):
        def get_retry_after(self, response: Any) -> float | None:
            wait = super().get_retry_after(response)
            return None if wait is None else min(wait, settings.longest_wait)

    return _BoundedRetry(
        total=settings.retries,
        read=None if after_errors else 0,
        other=None if after_errors else 0,
        backoff_factor=0.5,
        backoff_max=settings.longest_wait,
        status_forcelist=[*range(500, 600), 429] if after_errors else [429],
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS.union({"GET", "POST", "PATCH"}),
        secondary_rate_wait=min(60.0, settings.longest_wait),
        max_rate_limit_wait=int(settings.longest_wait),
    )


def _maybe_done(error: PromoterError) -> bool:
    """Whether the request that failed may have taken effect: no answer, or a 5xx."""
    from github import GithubException
    from requests.exceptions import RequestException

    cause = error.__cause__
    if isinstance(cause, RequestException):
        return True
    return isinstance(cause, GithubException) and cause.status >= 500


def _split_reviewers(reviewers: Sequence[str]) -> tuple[list[str], list[str]]:
    users = [r.lstrip("@") for r in reviewers if "/" not in r]
    teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]
    return users, teams


def _pull(pull: GhPull) -> PullRequest:
    return PullRequest(
        number=pull.number,
        url=pull.html_url,
        branch=pull.head.ref,
        title=pull.title,
        body=pull.body or "",
        state=PullState.OPEN if pull.state == "open" else PullState.CLOSED,
        merged=pull.merged_at is not None,
        labels=tuple(label.name for label in pull.labels),
        assignees=tuple(a.login for a in pull.assignees),
        reviewers=tuple(u.login for u in pull.requested_reviewers)
        + tuple(f"{pull.base.repo.owner.login}/{t.slug}" for t in pull.requested_teams),
    )


@contextmanager
def _github_errors() -> Iterator[None]:
    from github import BadCredentialsException, GithubException
    from requests.exceptions import RequestException

    try:
        yield
    except BadCredentialsException as e:
        raise PromoterError(BAD_CREDENTIALS) from e
    except RequestException as e:
        # Retries exhausted (GithubRetry raises RetryError) or the server is unreachable.
        raise PromoterError(f"GitHub API unreachable or failing: {e}") from e
    except GithubException as e:
        message = _message(e)
        if "not permitted to create or approve pull requests" in message:
            raise PromoterError(ACTIONS_CANNOT_CREATE_PRS) from e
        raise PromoterError(f"GitHub API error {e.status}: {message}") from e


def _message(e: Any) -> str:
    data = getattr(e, "data", None)
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            details = "; ".join(
                str(err.get("message") or err) if isinstance(err, dict) else str(err)
                for err in errors
            )
            text = f"{text} ({details})"
        return text or str(e)
    return str(e)
