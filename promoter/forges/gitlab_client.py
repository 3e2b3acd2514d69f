"""python-gitlab making one attempt per call, and promoter's retries around it.

python-gitlab would retry by itself, but without bounds a job can live with: it sleeps whatever
``Retry-After`` says and retries ten times. Here each call is retried on 5xx, 429 and lost
connections within a time budget (``Retry-After`` obeyed while it fits in the budget), every
request has a timeout, and every error becomes one line a person can act on. The token never
appears in a message: python-gitlab sends it as a header and its errors carry only the answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from promoter.errors import PromoterError

if TYPE_CHECKING:
    import requests
    from gitlab import Gitlab

log = logging.getLogger("promoter")

T = TypeVar("T")

# GitLab's and its proxies' transient answers (python-gitlab retries the same codes).
RETRYABLE: Final = frozenset({429, 500, 502, 503, 504, *range(520, 531)})
UNAUTHORIZED: Final = (
    "GitLab rejected the token (401 Unauthorized): set PROMOTER_TOKEN (or GITLAB_TOKEN) to a "
    "project access token with the api and write_repository scopes that has not expired"
)
API_ERROR: Final = "GitLab API error {status} while trying to {what}: {message}"
GAVE_UP: Final = "GitLab API failing while trying to {what}: {problem} (gave up after {attempts} {tries} in {seconds:.0f} s)"  # noqa: E501
MAX_BACKOFF: Final = 8.0


class GitLabApiError(PromoterError):
    """An answer GitLab gave that promoter does not retry; ``status`` is its HTTP code."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Limits:
    """How long one request may take, and how long one call may keep retrying."""

    timeout: float = 30.0
    retry_seconds: float = 60.0
    backoff: float = 0.25
    """The first pause between attempts; it doubles up to 8 s."""


class GitLabClient:
    """A python-gitlab client on ``url`` (the instance, relative root included) whose calls
    go through :meth:`call`."""

    def __init__(
        self,
        url: str,
        token: str,
        limits: Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits = limits or Limits()
        self._sleep = sleep
        self._clock = clock
        self._retry_after: float | None = None
        self.gl = _one_attempt_client(url, token, limits.timeout)
        self.gl.session.hooks["response"].append(self._seen)

    def _seen(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the last answer's ``Retry-After`` (python-gitlab's errors drop the headers)."""
        value = response.headers.get("Retry-After", "")
        self._retry_after = float(value) if value.strip().isdigit() else None

    def call(
        self,
        action: Callable[[], T],
        what: str,
        recover: Callable[[], T | None] | None = None,
    ) -> T:
        """``action()``, retried on 5xx, 429 and lost connections within the time budget.

        After a lost connection the request may have been done: ``recover`` (when given) looks
        for its result first, so that a retried create does not create twice.
        """
        from gitlab.exceptions import GitlabAuthenticationError, GitlabError
        from requests.exceptions import ChunkedEncodingError, ConnectionError, Timeout

        started = self._clock()
        attempts = 0
        while True:
            attempts += 1
            self._retry_after = None
            lost = False
            status: int | None = None
            try:
                return action()
            except GitlabAuthenticationError as e:
                raise GitLabApiError(UNAUTHORIZED, 401, message_of(e)) from e
            except GitlabError as e:
                status, message = e.response_code, message_of(e)
                if status not in RETRYABLE:
                    text = API_ERROR.format(status=status, what=what, message=message)
                    raise GitLabApiError(text, status, message) from e
                shown = message if message.startswith(str(status)) else f"{status} {message}"
                problem = shown.strip()
                error: Exception = e
            except (ConnectionError, Timeout, ChunkedEncodingError) as e:
                lost, problem, error = True, f"no answer ({type(e).__name__})", e
            wait = self._pause(attempts, status)
            spent = self._clock() - started
            if spent + wait > self.limits.retry_seconds:
                text = GAVE_UP.format(
                    what=what,
                    problem=problem,
                    attempts=attempts,
                    tries="attempt" if attempts == 1 else "attempts",
                    seconds=spent,
                )
                raise GitLabApiError(text, status, problem) from error
            log.warning("GitLab: %s while trying to %s; retrying in %.1f s", problem, what, wait)
            self._sleep(wait)
            if lost and recover is not None:
                found = self._recover(recover)
                if found is not None:
                    return found

    def _pause(self, attempts: int, status: int | None) -> float:
        if status == 429 and self._retry_after is not None:
            return self._retry_after
        return float(min(MAX_BACKOFF, self.limits.backoff * 2 ** (attempts - 1)))

    def _recover(self, recover: Callable[[], T | None]) -> T | None:
        """Whatever ``recover`` finds; a failure to look is no finding (the retry follows)."""
        from gitlab.exceptions import GitlabError
        from requests.exceptions import RequestException

        try:
            return recover()
        except (GitLabApiError, GitlabError, RequestException) as e:
            log.debug("GitLab: could not check for an earlier attempt's result: %s", e)
            return None


def message_of(error: Any) -> str:
    """GitLab's message in an error: a string, a list of them, or field -> messages."""
    message = getattr(error, "error_message", None) or str(error)
    if isinstance(message, list):
        return "; ".join(str(m) for m in message)
    if isinstance(message, dict):
        parts = []
        for field, problems in message.items():
            listed = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field} {', '.join(str(p) for p in listed)}")
        return "; ".join(parts)
    return str(message)


def _one_attempt_client(url: str, token: str, timeout: float) -> Gitlab:
    """python-gitlab with its own retries off: :meth:`GitLabClient.call` decides."""
    from gitlab import Gitlab

    class OneAttempt(Gitlab):
        def http_request(self, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs["obey_rate_limit"] = False
            kwargs["retry_transient_errors"] = False
            return super().http_request(*args, **kwargs)

    return OneAttempt(url, private_token=token, timeout=timeout, per_page=100)
