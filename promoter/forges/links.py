"""Links a forge can give beyond the interface every forge implements: optional, so a forge
without them (the local one) still is a forge."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class CommitLinks(Protocol):
    """A forge that shows commits on the web."""

    def commit_url(self, commit: str) -> str:
        """The web page of a commit of the repository."""
        ...


def commit_url(forge: object, commit: str) -> str | None:
    """The page of ``commit`` on ``forge``, or ``None`` when the forge has no web pages."""
    if isinstance(forge, CommitLinks):
        return forge.commit_url(commit)
    return None
