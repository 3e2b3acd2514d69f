"""Which CI host ``promoter event`` runs in, from the variables each CI sets."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from promoter.hosts.base import CiHost


def detect_host(env: Mapping[str, str], out: TextIO | None = None) -> CiHost:
    """The host whose variables are set; GitHub Actions otherwise, whose reader then says
    which variable is missing."""
    from promoter.hosts.github_actions.host import GitHubActions

    return GitHubActions(env, out or sys.stdout)
