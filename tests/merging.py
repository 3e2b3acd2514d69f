"""Merging a promotion PR the way a forge does, in a scratch clone of the bare remote: a merge
commit on the base ("Merge pull request #N from ..."), pushed; the local forge's PR file is
marked merged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.repos import IDENTITY, git


def merge_pull(
    bare: Path,
    scratch: Path,
    branch: str,
    number: int,
    base: str = "main",
    forge_dir: Path | None = None,
    owner: str = "acme",
    push: bool = True,
) -> str:
    """Merge ``branch`` into ``base`` of ``bare`` with a merge commit, as GitHub's merge button
    does, and push it (``push=False``: the next merge's push takes both); returns the merge
    commit's sha."""
    if not scratch.is_dir():
        git(bare.parent, "clone", "-q", str(bare), str(scratch))
        for key, value in IDENTITY.items():
            git(scratch, "config", key, value)
    git(scratch, "fetch", "-q", "origin")
    state = git(scratch, "status", "--porcelain", "--branch").splitlines()[0]
    if state.startswith(f"## {base}...") and "[ahead" in state and "behind" not in state:
        git(scratch, "checkout", "-q", base)  # keep the merges not pushed yet
    else:
        git(scratch, "checkout", "-q", "-B", base, f"origin/{base}")
    message = f"Merge pull request #{number} from {owner}/{branch}"
    git(scratch, "merge", "-q", "--no-ff", "-m", message, f"origin/{branch}")
    if push:
        git(scratch, "push", "-q", "origin", base)
    if forge_dir is not None:
        path = forge_dir / f"pull-{number}.json"
        data = json.loads(path.read_text())
        data.update(state="closed", merged=True)
        path.write_text(json.dumps(data))
    return git(scratch, "rev-parse", "HEAD").strip()


def push_commit(bare: Path, scratch: Path, path: str, text: str, base: str = "main") -> str:
    """A commit on ``base`` that changes no champion (a README edit), pushed."""
    if not scratch.is_dir():
        git(bare.parent, "clone", "-q", str(bare), str(scratch))
        for key, value in IDENTITY.items():
            git(scratch, "config", key, value)
    git(scratch, "fetch", "-q", "origin")
    git(scratch, "checkout", "-q", "-B", base, f"origin/{base}")
    (scratch / path).write_text(text)
    git(scratch, "add", path)
    git(scratch, "commit", "-q", "-m", f"edit {path}")
    git(scratch, "push", "-q", "origin", base)
    return git(scratch, "rev-parse", "HEAD").strip()
