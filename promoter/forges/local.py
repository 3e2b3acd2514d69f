"""A forge made of files: each PR is a JSON record, its body as Markdown and as an HTML page.

Used by the demo and by anyone trying promoter without a server; it keeps the same rules as
the real forges (one open PR per branch, found by its marker; updates in place; comments).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promoter.errors import PromoterError
from promoter.forges.base import (
    CommentRef,
    GitCredentials,
    PullRequest,
    PullRequestDraft,
    PullState,
    Reaction,
    Role,
)

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class LocalForge:
    """PRs kept under ``root``: ``pull-<n>.json``, ``pull-<n>.md``, ``pull-<n>.html``, and
    the files their bodies link under ``files/<branch>/``."""

    name = "local"
    # As GitHub's, so that what the demo shows is what a GitHub PR would hold.
    body_limit = 65_536
    comment_limit = 65_536
    pull_reference = "pull request #{number}"

    def __init__(self, root: Path) -> None:
        self.root = root

    def pulls(self, branch: str, state: PullState = PullState.OPEN) -> list[PullRequest]:
        """PRs from ``branch`` in ``state``, newest first."""
        found = [d for d in self._all() if d["branch"] == branch and d["state"] == state.value]
        return [self._pull(d) for d in sorted(found, key=lambda d: -int(d["number"]))]

    def create(self, draft: PullRequestDraft) -> PullRequest:
        """Write a new PR file (and its Markdown and HTML bodies)."""
        number = max((d["number"] for d in self._all()), default=0) + 1
        now = _now()
        data: dict[str, Any] = {"number": number, "state": "open", "created": now, "comments": []}
        return self._save(data, draft, now)

    def update(self, number: int, draft: PullRequestDraft) -> PullRequest:
        """Rewrite an open PR's title, body and labels."""
        return self._save(self._load(number), draft, _now())

    def comment(self, number: int, body: str) -> None:
        """Append a comment to a PR file."""
        data = self._load(number)
        data["comments"].append({"body": body, "created": _now()})
        self._write_json(number, data)

    def has_comment(self, number: int, body: str) -> bool:
        """Whether one of the PR file's latest 30 comments is ``body``."""
        return any(c["body"] == body for c in self._load(number)["comments"][-30:])

    def reply(self, ref: CommentRef, body: str) -> None:
        """A comment on the PR file (a local forge has no issues)."""
        self.comment(ref.number, body)

    def close(self, number: int) -> None:
        """Mark a PR closed."""
        data = self._load(number)
        data.update(state="closed", updated=_now())
        self._write_json(number, data)

    def react(self, ref: CommentRef, reaction: Reaction) -> None:
        """Record a reaction on a comment of a PR file (by the comment's id)."""
        data = self._load(ref.number)
        data.setdefault("reactions", []).append(
            {"comment": ref.comment_id, "content": reaction.value, "created": _now()}
        )
        self._write_json(ref.number, data)

    def role(self, user: str) -> Role:
        """Whoever runs promoter on local files owns them."""
        return Role.ADMIN

    def is_bot(self, user: str) -> bool:
        """No bots write local files."""
        return False

    def git_credentials(self) -> GitCredentials | None:
        """Git's own configuration pushes: there is no server."""
        return None

    def image_url(self, commit: str, path: str, branch: str) -> str:
        """Images are copied beside the PR files; the body links them relatively."""
        return f"files/{_SAFE.sub('-', branch)}/{path}"

    def file_url(self, commit: str, path: str, branch: str) -> str:
        """Linked files are copied beside the PR files too."""
        return self.image_url(commit, path, branch)

    def path_of(self, number: int, suffix: str = ".md") -> Path:
        """Where a PR's file is."""
        return self.root / f"pull-{number}{suffix}"

    def _save(self, data: dict[str, Any], draft: PullRequestDraft, now: str) -> PullRequest:
        number = int(data["number"])
        data.update(
            title=draft.title,
            body=draft.body,
            branch=draft.branch,
            base=draft.base,
            labels=list(draft.labels),
            reviewers=list(draft.reviewers),
            assignees=list(draft.assignees),
            draft=draft.draft,
            updated=now,
        )
        self.root.mkdir(parents=True, exist_ok=True)
        for repo_path, source in draft.files.items():
            target = self.root / self.image_url("", repo_path, draft.branch)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        self.path_of(number).write_text(draft.body, encoding="utf-8")
        from promoter.render.html import render_html

        self.path_of(number, ".html").write_text(
            render_html(draft.body, draft.title), encoding="utf-8"
        )
        self._write_json(number, data)
        return self._pull(data)

    def _pull(self, data: dict[str, Any]) -> PullRequest:
        number = int(data["number"])
        return PullRequest(
            number=number,
            url=str(self.path_of(number)),
            branch=data["branch"],
            title=data["title"],
            body=data["body"],
            state=PullState(data["state"]),
            merged=bool(data.get("merged", False)),
            labels=tuple(data.get("labels", ())),
            assignees=tuple(data.get("assignees", ())),
            reviewers=tuple(data.get("reviewers", ())),
        )

    def _write_json(self, number: int, data: dict[str, Any]) -> None:
        path = self.path_of(number, ".json")
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)

    def _load(self, number: int) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path_of(number, ".json").read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise PromoterError(f"local forge: no readable pull request {number}: {e}") from e
        return data

    def _all(self) -> list[dict[str, Any]]:
        found = []
        for path in sorted(self.root.glob("pull-*.json")):
            try:
                found.append(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError):
                continue
        return found


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
