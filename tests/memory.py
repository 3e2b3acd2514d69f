"""A run store and a forge that live in memory, written against the interfaces alone.

They prove the core needs nothing but ``RunStore`` and ``Forge`` (a new store or forge is one
module), and they make trigger and promotion tests that need neither Guild nor a server.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promoter.core.models import Provenance, Run, RunFile, RunFiles, RunStatus, ScalarSeries
from promoter.errors import UsageError
from promoter.forges.base import (
    CommentRef,
    GitCredentials,
    PullRequest,
    PullRequestDraft,
    PullState,
    Reaction,
    Role,
)
from promoter.runs.base import Progress, RunListing

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def memory_id(n: int) -> str:
    """The id of memory run ``n`` (1 to 15): its hex digit 32 times."""
    return f"{n:x}" * 32


def memory_run(n: int, op: str = "train", **scalars: float) -> Run:
    """Run ``n`` (id :func:`memory_id`), started ``n`` hours after T0, with one value per
    scalar."""
    return Run(
        id=memory_id(n),
        op=op,
        status=RunStatus.COMPLETED,
        started=T0 + timedelta(hours=n),
        flags={"lr": n / 10},
        scalars={
            name: ScalarSeries(name, ".guild", (0,), (value,)) for name, value in scalars.items()
        },
    )


@dataclass
class MemoryStore:
    """Runs and their files in dictionaries; ``materialize`` writes files into ``scratch``."""

    runs: list[Run]
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """run id -> run path -> content; paths listed in ``sources`` are source files."""
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    """run id -> run path -> project path, for source files."""
    scratch: Path = Path("/nonexistent")
    materialized: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    @property
    def location(self) -> str:
        return "memory"

    def list_runs(self, progress: Progress | None = None) -> RunListing:
        if not self.runs:
            raise UsageError("the memory store holds no runs")
        if progress is not None:
            progress(len(self.runs), len(self.runs))
        ordered = sorted(self.runs, key=lambda r: r.started or T0, reverse=True)
        return RunListing(tuple(ordered))

    def run_files(self, run: Run) -> RunFiles:
        sources = self.sources.get(run.id, {})
        contents = self.files.get(run.id, {})
        return RunFiles(
            source=tuple(RunFile(p, "source", sources[p]) for p in sorted(sources)),
            dependencies=(),
            generated=tuple(
                RunFile(p, "generated", size=len(c))
                for p, c in sorted(contents.items())
                if p not in sources
            ),
        )

    def materialize(self, run: Run, paths: Collection[str]) -> Path:
        root = self.scratch / run.id
        contents = self.files.get(run.id, {})
        for path in paths:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(contents[path])
        self.materialized.append((run.id, tuple(sorted(paths))))
        return root

    def provenance(self, run: Run) -> Provenance:
        return Provenance(host="memory-host", user="memory-user")

    def reproduce(self, run: Run) -> str:
        flags = " ".join(f"{k}={v}" for k, v in sorted(run.flags.items()))
        return f"memory-train {shlex.quote(run.op)} {flags}".strip()


@dataclass
class MemoryComment:
    number: int
    id: int
    body: str
    reactions: list[str] = field(default_factory=list)


@dataclass
class MemoryForge:
    """Pull requests, comments, reactions and roles in lists; every call is logged."""

    roles: Mapping[str, Role] = field(default_factory=dict)
    bots: Collection[str] = ()
    pulls_: list[PullRequest] = field(default_factory=list)
    drafts: dict[int, PullRequestDraft] = field(default_factory=dict)
    comments: list[MemoryComment] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    name: str = "memory"
    body_limit: int = 65_536
    comment_limit: int = 65_536
    pull_reference: str = "pull request #{number}"

    def pulls(self, branch: str, state: PullState = PullState.OPEN) -> Sequence[PullRequest]:
        self.calls.append(f"pulls {branch} {state}")
        found = [p for p in self.pulls_ if p.branch == branch and p.state is state]
        return sorted(found, key=lambda p: -p.number)

    def create(self, draft: PullRequestDraft) -> PullRequest:
        self.calls.append(f"create {draft.branch}")
        number = 1 + max([p.number for p in self.pulls_] + [c.number for c in self.comments] + [0])
        pull = PullRequest(number, f"memory://pull/{number}", draft.branch, draft.title, draft.body)
        self.pulls_.append(pull)
        self.drafts[number] = draft
        return pull

    def update(self, number: int, draft: PullRequestDraft) -> PullRequest:
        self.calls.append(f"update {number}")
        old = self._pull(number)
        new = replace(old, title=draft.title, body=draft.body)
        self.pulls_[self.pulls_.index(old)] = new
        self.drafts[number] = draft
        return new

    def comment(self, number: int, body: str) -> None:
        self.calls.append(f"comment {number}")
        self.comments.append(MemoryComment(number, 1000 + len(self.comments), body))

    def has_comment(self, number: int, body: str) -> bool:
        self.calls.append(f"has_comment {number}")
        return any(c.body == body for c in self.comments[-30:] if c.number == number)

    def reply(self, ref: CommentRef, body: str) -> None:
        where = "" if ref.on_pull_request else " (issue)"
        self.calls.append(f"comment {ref.number}{where}")
        self.comments.append(MemoryComment(ref.number, 1000 + len(self.comments), body))

    def close(self, number: int) -> None:
        self.calls.append(f"close {number}")
        old = self._pull(number)
        self.pulls_[self.pulls_.index(old)] = replace(old, state=PullState.CLOSED)

    def react(self, ref: CommentRef, reaction: Reaction) -> None:
        self.calls.append(f"react {ref.comment_id} {reaction}")

    def role(self, user: str) -> Role:
        self.calls.append(f"role {user}")
        return self.roles.get(user, Role.NONE)

    def is_bot(self, user: str) -> bool:
        return user in self.bots

    def git_credentials(self) -> GitCredentials | None:
        return None

    def image_url(self, commit: str, path: str, branch: str) -> str:
        return f"memory://{commit}/{path}"

    def file_url(self, commit: str, path: str, branch: str) -> str:
        return f"memory://{commit}/{path}"

    def _pull(self, number: int) -> PullRequest:
        return next(p for p in self.pulls_ if p.number == number)

    def reacted(self) -> list[str]:
        """The reactions made, in order."""
        return [c.split(" ", 2)[2] for c in self.calls if c.startswith("react ")]


MEMORY_CONFIG = """\
select:
  objective: max val_acc
merge:
  flags_file: params.yml
  artifacts: [{from: model.pkl, to: models/model.pkl}]
pr:
  labels: [model-promotion]
"""


def memory_world(tmp_path: Path, values: Sequence[float] = (0.8, 0.9)) -> MemoryStore:
    """A store of runs ``1..n`` with those ``val_acc`` values, each with a ``train.py`` (source)
    and a ``model.pkl`` (generated) of its own."""
    runs = [memory_run(i, val_acc=v) for i, v in enumerate(values, start=1)]
    store = MemoryStore(runs, scratch=tmp_path / "materialized")
    for run in runs:
        add_run_files(store, run)
    return store


def add_run_files(store: MemoryStore, run: Run) -> None:
    """Give ``run`` a ``train.py`` and a ``model.pkl`` that name it."""
    store.files[run.id] = {
        "train.py": f"# trained by run {run.short_id}\n".encode(),
        "model.pkl": f"model of {run.id}".encode(),
    }
    store.sources[run.id] = {"train.py": "train.py"}
