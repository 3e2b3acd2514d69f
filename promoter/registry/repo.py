"""The repository a registration reads and tags: the base branch and the tags as the git
remote has them now (the local checkout may be stale or shallow)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from promoter.errors import PromoterError
from promoter.forges.base import Forge
from promoter.tools.git import Git, is_relative_path, path_prefix

log = logging.getLogger("promoter")


@dataclass(frozen=True, slots=True)
class Repository:
    """Git in the project, the remote (``None``: a repository without one) and the prefix of
    the project's directory in the repository."""

    git: Git
    remote: str | None
    prefix: str
    _fetched: set[str] = field(default_factory=set)
    """Bases fetched already: a job registers and then reads history from one fetch."""

    def base_ref(self, base: str) -> str:
        """``base`` as the remote has it now (fetched once per repository object), or the
        local branch without a remote."""
        if self.remote is None:
            if self.git.rev_parse(base) is None:
                raise PromoterError(f"pr.base: no branch {base!r} in this repository")
            return base
        tracking = f"refs/promoter/bases/{base}"
        if base in self._fetched:
            return tracking
        try:
            self.git.fetch(self.remote, [f"+refs/heads/{base}:{tracking}"])
        except PromoterError as e:
            raise PromoterError(f"pr.base: cannot fetch {base!r} from the remote: {e}") from e
        self._fetched.add(base)
        return tracking

    def tags(self) -> list[tuple[str, str, str | None]]:
        """Every tag where registrations live: the remote's, else this repository's."""
        return self.git.tags(self.remote)

    def has_commit(self, sha: str) -> bool:
        """Whether ``sha`` is here, fetched from the remote when it is not (yet)."""
        if self.git.has_commit(sha):
            return True
        if self.remote is None:
            return False
        try:
            self.git.fetch(self.remote, [sha])
        except PromoterError:
            return False
        return self.git.has_commit(sha)


def open_repository(project: Path, forge: Forge | None = None) -> Repository:
    """The project's repository, talking to its remote with the forge's token; a shallow
    clone (``actions/checkout``'s default) gets its history first: registrations and history
    read the whole first-parent line of the base."""
    # Git at the top: history is read with repository paths (a pathspec is read from the
    # directory git runs in, and the project may be a subdirectory).
    top = Git(project).toplevel().resolve()
    git = Git(top)
    credentials = forge.git_credentials() if forge is not None else None
    if credentials is not None:
        git = git.authenticated(credentials.server_url, credentials.username, credentials.token)
    name = git.default_remote()
    remote = None
    if name is not None:
        url = git.remote_url(name)
        remote = str((top / url).resolve()) if is_relative_path(url) else name
        if git.is_shallow():
            log.info("the clone is shallow: fetching the history of %s", name)
            git.unshallow(remote)
    return Repository(git, remote, path_prefix(top, project))
