"""One factory for every forge: where the repository is and how to reach it, in, a Forge out.

The edges (the command line and each CI host) read their environment into a
:class:`ForgeTarget`; nothing else builds a forge. Forge modules are imported only when
chosen, so ``promoter select`` never loads PyGithub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from promoter.errors import UsageError

if TYPE_CHECKING:
    from promoter.forges.base import Forge

ForgeName = Literal["local", "github", "gitlab"]
FORGE_NAMES: Final[tuple[ForgeName, ...]] = ("local", "github", "gitlab")

GITHUB_FROM_ENV: Final = "--forge github needs GITHUB_REPOSITORY (owner/name) and GITHUB_TOKEN"
GITLAB_FROM_ENV: Final = (
    "--forge gitlab needs CI_PROJECT_PATH (group/project) and PROMOTER_TOKEN (or GITLAB_TOKEN)"
)
NOT_YET: Final = "forge {name!r} is not available yet"


@dataclass(frozen=True, slots=True)
class ForgeTarget:
    """Which forge, which repository on it, and the credentials to reach it."""

    kind: ForgeName
    repository: str | None = None
    token: str | None = field(default=None, repr=False)
    api_url: str | None = None
    server_url: str | None = None
    directory: Path | None = None
    """The local forge's directory."""
    pacing: float = 1.0
    """Scales the pauses a forge client makes between requests (0 for a local fake)."""


def make_forge(target: ForgeTarget) -> Forge:
    """The forge ``target`` describes."""
    if target.kind == "local":
        from promoter.forges.local import LocalForge

        if target.directory is None:
            raise UsageError("the local forge needs a directory (--forge-dir)")
        return LocalForge(target.directory)
    if target.kind == "github":
        from promoter.forges.github import GitHubForge, GitHubSettings

        if not target.repository or not target.token:
            raise UsageError(GITHUB_FROM_ENV)
        return GitHubForge(
            GitHubSettings(
                repository=target.repository,
                token=target.token,
                api_url=target.api_url or "https://api.github.com",
                server_url=target.server_url or "https://github.com",
            ).paced(target.pacing)
        )
    if target.kind == "gitlab":
        from promoter.forges.gitlab import GitLabForge, GitLabSettings

        if not target.repository or not target.token:
            raise UsageError(GITLAB_FROM_ENV)
        return GitLabForge(
            GitLabSettings(
                project=target.repository,
                token=target.token,
                server_url=target.server_url or "https://gitlab.com",
                api_url=target.api_url,
            )
        )
    raise UsageError(NOT_YET.format(name=target.kind))


def target_from_env(
    kind: ForgeName, env: Mapping[str, str], directory: Path | None = None
) -> ForgeTarget:
    """A forge for ``promoter promote --forge`` outside CI, from the environment
    (GitHub: ``GITHUB_REPOSITORY``, ``GITHUB_TOKEN``, ``GITHUB_API_URL`` for Enterprise;
    GitLab: the job's own variables, see :func:`gitlab_target`)."""
    if kind == "github":
        return ForgeTarget(
            kind,
            repository=env.get("GITHUB_REPOSITORY"),
            token=env.get("GITHUB_TOKEN"),
            api_url=env.get("GITHUB_API_URL"),
            server_url=env.get("GITHUB_SERVER_URL"),
            pacing=pacing(env),
        )
    if kind == "gitlab":
        return gitlab_target(env)
    return ForgeTarget(kind, directory=directory)


def gitlab_target(env: Mapping[str, str]) -> ForgeTarget:
    """The project of a GitLab CI job: ``CI_PROJECT_PATH`` on ``CI_SERVER_URL`` (default
    gitlab.com; a relative URL root included) through ``CI_API_V4_URL``, with
    ``PROMOTER_TOKEN``, else ``GITLAB_TOKEN`` (``CI_JOB_TOKEN`` cannot open merge requests)."""
    server = env.get("CI_SERVER_URL", "").strip().rstrip("/") or "https://gitlab.com"
    return ForgeTarget(
        "gitlab",
        repository=env.get("CI_PROJECT_PATH", "").strip() or None,
        token=(env.get("PROMOTER_TOKEN") or env.get("GITLAB_TOKEN") or "").strip() or None,
        api_url=env.get("CI_API_V4_URL", "").strip() or None,
        server_url=server,
    )


def pacing(env: Mapping[str, str]) -> float:
    """``PROMOTER_GITHUB_PACING`` (default 1; 0 for tests against a local fake)."""
    text = env.get("PROMOTER_GITHUB_PACING", "1")
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"PROMOTER_GITHUB_PACING {text!r} is not a number") from None
