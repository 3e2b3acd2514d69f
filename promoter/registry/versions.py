"""Registry names and versions: pure rules for ``<name>@v<major>.<minor>.<patch>`` tags.

GTO (1.10) lists an annotated tag ``NAME@vX.Y.Z`` as a registration of artifact NAME at
version X.Y.Z; it ignores lightweight tags and versions that are not full semver.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

Bump = Literal["major", "minor", "patch"]

# GTO's rule for artifact names (gto register enforces it; reading is lenient).
_CORE: Final = re.compile(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
_UNSAFE: Final = re.compile(r"[^a-z0-9]+")
FIRST_FROM: Final = (0, 0, 0)
"""The first version is ``registry.bump`` applied to 0.0.0: v0.1.0 by default (minor),
v0.0.1 with ``patch`` (where ``gto register`` starts), v1.0.0 with ``major``."""


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """A release version, compared as numbers (v0.10.0 > v0.9.0)."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    def bumped(self, bump: Bump) -> Version:
        """The next version by ``bump``, as semver counts (lower parts reset to 0)."""
        if bump == "major":
            return Version(self.major + 1, 0, 0)
        if bump == "minor":
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)


def registry_name(track: str | None, op: str | None) -> str:
    """The artifact name of a track: its own name, or, for a config without ``tracks:``, the
    operation made GTO-valid (``train`` stays, ``mnist:train`` -> ``mnist-train``)."""
    if track is not None:
        return track
    name = _UNSAFE.sub("-", (op or "").lower()).strip("-")
    return name or "model"


def tag_name(name: str, version: Version) -> str:
    """The registration tag: ``train@v0.2.0``."""
    return f"{name}@{version}"


def tag_version(tag: str, name: str) -> Version | None:
    """The version a tag registers for artifact ``name``, or ``None`` when it is not one of
    its ``NAME@vX.Y.Z`` tags (pre-releases and other artifacts' tags included)."""
    prefix = f"{name}@"
    if not tag.startswith(prefix):
        return None
    found = _CORE.fullmatch(tag[len(prefix) :])
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.groups())
    return Version(major, minor, patch)


def next_version(existing: Iterable[Version], bump: Bump) -> Version:
    """The version after the highest existing one (from 0.0.0 when there is none)."""
    last = max(existing, default=Version(*FIRST_FROM))
    return last.bumped(bump)
