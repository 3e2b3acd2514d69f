"""Who ran a Guild run, and in which CI job, from what Guild recorded.

Guild writes the ``user`` attribute from ``$USER`` alone, so a run started where ``$USER`` is
unset (a container, a CI job, cron) records an empty user; its ``env`` attribute still holds
the environment the run saw, which often names the user another way, and the CI job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from promoter.core.models import Provenance
from promoter.runs.guild.rundir import AttrReader, python_version

# Tried in order when Guild's own `user` is empty: the login, then the CI's actor.
USER_VARIABLES: Final = ("USER", "LOGNAME", "USERNAME", "GITHUB_ACTOR", "GITLAB_USER_LOGIN")


def recorded_user(user: str | None, env: Mapping[str, object]) -> str | None:
    """Guild's ``user``, else the first user name the recorded environment holds."""
    if user:
        return user
    for name in USER_VARIABLES:
        value = env.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def ci_job_url(env: Mapping[str, object]) -> str | None:
    """The CI job the run ran in, from its recorded environment: GitLab's ``CI_JOB_URL``,
    GitHub Actions' run (``GITHUB_SERVER_URL``/``GITHUB_REPOSITORY``/``GITHUB_RUN_ID``), or
    Jenkins' ``BUILD_URL``; only http(s) addresses."""

    def text(name: str) -> str:
        value = env.get(name)
        return value.strip() if isinstance(value, str) else ""

    run_id = text("GITHUB_RUN_ID")
    candidates = [text("CI_JOB_URL")]
    if text("GITHUB_SERVER_URL") and text("GITHUB_REPOSITORY") and run_id.isdigit():
        server = text("GITHUB_SERVER_URL").rstrip("/")
        candidates.append(f"{server}/{text('GITHUB_REPOSITORY')}/actions/runs/{run_id}")
    candidates.append(text("BUILD_URL"))
    for url in candidates:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            return url
    return None


def provenance_of(attrs: AttrReader, env: Mapping[str, object]) -> Provenance:
    """A run's provenance from its attributes (``env``: its recorded environment, or empty
    where it is not read); raises :class:`CorruptRun` for a malformed attribute."""
    return Provenance(
        host=attrs.text("host"),
        user=recorded_user(attrs.text("user"), env),
        sourcecode_digest=attrs.text("sourcecode_digest"),
        random_seed=attrs.integer("random_seed"),
        command=tuple(str(a) for a in attrs.sequence("cmd")),
        python=python_version(attrs.any("platform")),
        packages=tuple(str(p) for p in attrs.sequence("pip_freeze")),
        ci_job_url=ci_job_url(env),
    )
