"""Paths a run may not write: what git and the forges read to decide how the repository runs.

A run's source snapshot is untrusted: a run started from a branch that changed
``.github/workflows/`` would otherwise push CI code under the bot's token before anyone
reviews it. Names are compared case-insensitively (macOS and Windows checkouts, and GitHub's
own lookup, ignore case) and at any depth where git reads them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Protection(StrEnum):
    """How a path is protected."""

    GIT_INTERNAL = "git-internal"
    """Inside a ``.git`` directory (in any spelling git also refuses): never written."""
    TOOL_STATE = "tool-state"
    """Promoter's, DVC's or Guild's own state: the run's copy is stale, never merged."""
    AUTOMATION = "automation"
    """Read by git or a forge to run things: written only when ``merge.allow`` lists it."""


@dataclass(frozen=True, slots=True)
class Protected:
    """Why a path is protected."""

    kind: Protection
    reason: str


# File names git reads in any directory (.gitmodules only at the top, but never useful deeper).
_GIT_FILES: Final = frozenset({".gitattributes", ".gitignore", ".gitmodules"})
# Forges read these directories and files to run CI, require reviews or configure bots.
_FORGE_DIRS: Final = frozenset({".github", ".gitlab", ".circleci", ".forgejo", ".gitea"})
_FORGE_FILES: Final = frozenset(
    {".gitlab-ci.yml", "codeowners", ".promoter.yml", ".travis.yml", "azure-pipelines.yml"}
)
_TOOL_DIRS: Final = frozenset({".dvc", ".guild", ".promoter"})
# core.protectNTFS (git's default) refuses these too: ".git " and ".git." are ".git" on
# Windows, and "git~1" is its 8.3 short name.
_GIT_ALIASES: Final = frozenset({".git", "git~1"})


# git's own short names of these files on NTFS (path.c, is_ntfs_dotgitmodules and friends).
_SHORT_NAMES: Final = (
    (re.compile(r"gitmod~[1-4]|gi7eba~[1-9]"), ".gitmodules"),
    (re.compile(r"gitatt~[1-4]|gi7d29~[1-9]"), ".gitattributes"),
    (re.compile(r"gitign~[1-4]|gi250a~[1-9]"), ".gitignore"),
)
# Code points HFS+ ignores in names (git's utf8.c): ".g\u200cit" is ".git" on a Mac.
_HFS_IGNORED: Final = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")


def as_read(part: str) -> str:
    """A path component as the file systems git protects read it: case folded (through upper
    case, so dotless i and long s read as ``i`` and ``s``), without the code points HFS+ ignores,
    cut at an NTFS stream (``.git::$INDEX_ALLOCATION``) and before trailing dots and spaces
    (``.git.``), with git's NTFS short names spelled out."""
    name = _HFS_IGNORED.sub("", part).upper().casefold().split(":", 1)[0].rstrip(". ")
    return next((long for short, long in _SHORT_NAMES if short.fullmatch(name)), name)


def protection(path: str) -> Protected | None:
    """Why a run may not write ``path`` (a normalised relative POSIX path), or ``None``."""
    parts = [as_read(part) for part in path.split("/")]
    for part in parts:
        if part in _GIT_ALIASES:
            return Protected(Protection.GIT_INTERNAL, "a path inside .git, which git refuses")
    tool = next((part for part in parts[:-1] if part in _TOOL_DIRS), None)
    if tool is not None:
        return Protected(Protection.TOOL_STATE, f"promoter never writes into {tool}/")
    forge = next((part for part in parts[:-1] if part in _FORGE_DIRS), None)
    if forge is not None:
        return Protected(Protection.AUTOMATION, f"{forge}/ configures the forge and its CI")
    name = parts[-1]
    if name in _GIT_FILES:
        return Protected(Protection.AUTOMATION, f"{name} changes how git treats files")
    if name in _FORGE_FILES:
        return Protected(Protection.AUTOMATION, f"{name} configures CI, reviews or promoter")
    return None


def allowed(path: str, patterns: Sequence[str]) -> bool:
    """Whether ``merge.allow`` lists ``path`` (fnmatch patterns, case-sensitive)."""
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)
