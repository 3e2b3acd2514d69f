"""Which CI host ``promoter event`` runs in, from the variables each CI sets."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from promoter.hosts.base import CiHost


def detect_host(env: Mapping[str, str], out: TextIO | None = None) -> CiHost:
    """GitLab CI when ``GITLAB_CI=true``; GitHub Actions otherwise, whose reader then says
    which variable is missing."""
    if env.get("GITLAB_CI") == "true":
        from promoter.hosts.gitlab_ci.host import GitLabCi

        return GitLabCi(env, out or sys.stdout)
    from promoter.hosts.github_actions.host import GitHubActions

    return GitHubActions(env, out or sys.stdout)
