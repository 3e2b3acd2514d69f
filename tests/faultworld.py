"""A promotion repository, its remotes and the fake GitHub serving it, with promoter run
through the :class:`~tests.faultkit.Toolbox` (``promoter event`` as a subprocess in its own
process group, so a fault can kill the whole job as a cancelled CI job is), and
:func:`convergence`: what the repository, the DVC remote and the forge hold, measured (PRs,
branches, labels, people, the model, worktrees, the user's checkout).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from promoter.tools.dvc import parse_dvc_pointer
from tests.faultkit import Job, KillAt, Toolbox
from tests.promotion import PROMOTION_CONFIG, action_env, make_promotion_repo, read_output_file
from tests.repos import git

REPO = "acme/churn-model"
BRANCH = "promote/train"
LABELS = ("model-promotion", "ml")
REVIEWERS = ("reviewer-1",)
ASSIGNEES = ("octocat",)
FAULT_CONFIG = PROMOTION_CONFIG.replace(
    "  labels: [model-promotion]\n",
    f"  labels: [{', '.join(LABELS)}]\n  assignees: [{', '.join(ASSIGNEES)}]\n",
)
JOB_TIMEOUT = 180
SCHEDULE = {"schedule": "17 3 * * *"}


class World:
    """A promotion repository, its remotes and the fake GitHub repository that serves it."""

    def __init__(self, tmp: Path, server, home: Path, config: str = FAULT_CONFIG) -> None:
        self.tmp = tmp
        repo = make_promotion_repo(tmp, config)
        self.work, self.bare, self.dvc_remote = repo.work, repo.bare, repo.dvc_remote
        self.home = home
        self.server = server
        self.repo = server.state.add_repo(REPO, bare=self.bare)
        for login, role in (("octocat", "admin"), ("reader", "read"), ("reviewer-1", "write")):
            server.state.set_permission(REPO, login, role)
        self.tools = Toolbox(tmp / "venv")
        self.count = 0
        self.process: subprocess.Popen[str] | None = None
        self.checkout = checkout_state(self.work)

    # --- running promoter ----------------------------------------------------------------------

    def event(
        self,
        name: str = "schedule",
        payload: dict | None = None,
        *,
        kill: KillAt | None = None,
        **inputs: str,
    ) -> Job:
        """``promoter event`` as the runner starts it (a subprocess in its own process group)."""
        env, output, summary = self._event_env(name, payload, inputs)
        code, stdout, stderr = self._run(["event"], env, kill)
        return self._job(code, stdout, stderr, output, summary)

    def event_here(
        self,
        monkeypatch,
        capsys,
        name: str = "schedule",
        payload: dict | None = None,
        **inputs: str,
    ) -> Job:
        """``promoter event`` in this process (quick; no kill): ``monkeypatch`` sets the
        runner's environment, ``capsys`` catches the log."""
        from promoter.cli import main

        env, output, summary = self._event_env(name, payload, inputs)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main(["event"])
        out, err = capsys.readouterr()
        return self._job(code, out, err, output, summary)

    def comment(
        self,
        body: str,
        author: str = "octocat",
        *,
        on_pr: bool = True,
        action: str = "created",
        user_type: str = "User",
        association: str = "OWNER",
    ) -> dict:
        """An ``issue_comment`` payload for a new comment (kept by the fake GitHub, so the bot
        can react to it), on a pull request's conversation unless ``on_pr`` is false."""
        from tests.fakegithub import Comment

        with self.server.state.lock:
            issue = self.server.state.add_issue(REPO, "Model quality")
            comment_id = self.server.state.next_id()
            self.repo.comments[comment_id] = Comment(comment_id, issue.number, author, body)
        conversation: dict = {"number": issue.number, "title": "Model quality"}
        if on_pr:
            conversation["pull_request"] = {"url": f"{self.server.url}/repos/{REPO}/pulls/1"}
        return {
            "action": action,
            "issue": conversation,
            "comment": {
                "id": comment_id,
                "body": body,
                "user": {"login": author, "type": user_type},
                "author_association": association,
            },
            "repository": {"full_name": REPO},
        }

    def replies(self, payload: dict) -> list[str]:
        """The comments on the payload's conversation after the command itself."""
        with self.server.state.lock:
            comments = self.repo.comments_on(payload["issue"]["number"])
        return [c.body for c in comments if c.id != payload["comment"]["id"]]

    def reactions(self, payload: dict) -> list[str]:
        with self.server.state.lock:
            comment = self.repo.comments[payload["comment"]["id"]]
            return [r.content for r in comment.reactions]

    def _event_env(
        self, name: str, payload: dict | None, inputs: dict[str, str]
    ) -> tuple[dict[str, str], Path, Path]:
        self.count += 1
        event_file = self.tmp / f"event-{self.count}.json"
        event_file.write_text(json.dumps(SCHEDULE if payload is None else payload))
        output, summary = self.tmp / f"out-{self.count}", self.tmp / f"summary-{self.count}"
        env = action_env(
            name,
            event_file,
            REPO,
            self.server.url,
            self.work,
            self.home,
            output,
            summary,
            run_id=str(4200 + self.count),
            inputs=inputs,
        )
        return env, output, summary

    def _job(self, code: int, stdout: str, stderr: str, output: Path, summary: Path) -> Job:
        outputs = read_output_file(output.read_text()) if output.exists() else {}
        text = summary.read_text() if summary.exists() else ""
        return Job(code, outputs, stdout, stderr, text, self.tools.calls())

    def start(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        """promoter in its own process group (its pid is the group id)."""
        return subprocess.Popen(
            [str(self.tools.python), "-m", "promoter", *argv],
            cwd=self.work,
            env=self.tools.env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def _run(
        self, argv: list[str], env: dict[str, str], kill: KillAt | None
    ) -> tuple[int, str, str]:
        self.tools.arm(kill)
        self.process = self.start(argv, env)
        try:
            stdout, stderr = self.process.communicate(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            stdout, stderr = self.process.communicate()
            raise AssertionError(f"promoter hung for {JOB_TIMEOUT} s:\n{stderr}") from None
        finally:
            self.tools.control.unlink(missing_ok=True)
        return self.process.returncode, stdout, stderr

    def kill_job(self, _request: object = None) -> None:
        """SIGKILL the running promoter and its children (a fake GitHub ``then`` hook)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)

    # --- what is there ------------------------------------------------------------------------

    def pulls(self) -> list:
        with self.server.state.lock:
            return list(self.repo.pulls)

    def branch_sha(self, name: str = BRANCH) -> str:
        return git(self.bare, "branch", "--list", name, "--format=%(objectname)").strip()

    def model_objects(self) -> set[str]:
        """The md5s of the files in the DVC remote."""
        return {p.parent.name + p.name for p in (self.dvc_remote / "files" / "md5").glob("*/*")}


def checkout_state(work: Path) -> tuple[str, ...]:
    """What promoter must never change in the user's checkout: HEAD, index and working tree
    status, local branches, stashes."""
    return (
        git(work, "rev-parse", "HEAD").strip(),
        git(work, "status", "--porcelain", "--untracked-files=all"),
        git(work, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"),
        git(work, "stash", "list"),
    )


@dataclass
class Convergence:
    """What a world holds after a job, measured; :meth:`problems` says what is not right."""

    open_prs: int
    all_prs: int
    promoted_run: str | None
    labels: list[str]
    reviewers: list[str]
    assignees: list[str]
    branches: list[str]
    branch_run: str | None
    model_in_remote: bool
    worktrees_left: list[str]
    checkout_same: bool
    duplicate_comments: int

    @property
    def duplicates(self) -> int:
        """PRs, promotion branches and comments beyond one of each."""
        extra_prs = max(0, self.all_prs - 1)
        extra_branches = max(0, len([b for b in self.branches if b.startswith("promote/")]) - 1)
        return extra_prs + extra_branches + self.duplicate_comments

    @property
    def lost(self) -> int:
        """Promotions whose branch points at a model the DVC remote does not hold."""
        return 0 if self.model_in_remote or self.branch_run is None else 1

    def problems(self, run_id: str) -> list[str]:
        """Everything that differs from one converged promotion of ``run_id``."""
        wanted = {
            "open_prs": 1,
            "all_prs": 1,
            "promoted_run": run_id,
            "labels": sorted(LABELS),
            "reviewers": sorted(REVIEWERS),
            "assignees": sorted(ASSIGNEES),
            "branches": ["main", BRANCH],
            "branch_run": run_id,
            "model_in_remote": True,
            "worktrees_left": [],
            "checkout_same": True,
            "duplicate_comments": 0,
        }
        return [
            f"{key}: {getattr(self, key)!r}, wanted {value!r}"
            for key, value in wanted.items()
            if getattr(self, key) != value
        ]


def convergence(world: World) -> Convergence:
    """Measure the world (see :class:`Convergence`)."""
    from promoter.forges.markers import marked_run
    from promoter.tools.git import Git
    from promoter.tools.worktree import worktrees_root

    pulls = world.pulls()
    open_ = [p for p in pulls if p.state == "open"]
    first = open_[0] if open_ else None
    branches = git(
        world.bare, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads/"
    ).split()
    branch_run = None
    in_remote = False
    if BRANCH in branches:
        trailer = git(
            world.bare, "log", "-1", "--format=%(trailers:key=Promoter-Run,valueonly)", BRANCH
        ).strip()
        branch_run = trailer or None
        pointer = parse_dvc_pointer(git(world.bare, "show", f"{BRANCH}:models/model.pkl.dvc"))
        in_remote = all(out.md5 in world.model_objects() for out in pointer.outs)
    root = worktrees_root(Git(world.work))
    left = sorted(p.name for p in root.iterdir()) if root.exists() else []
    listed = git(world.work, "worktree", "list", "--porcelain").count("worktree ")
    if listed != 1:
        left.append(f"{listed - 1} registered")
    with world.server.state.lock:
        bodies = Counter(c.body for c in world.repo.comments.values())
    return Convergence(
        open_prs=len(open_),
        all_prs=len(pulls),
        promoted_run=marked_run(first.body or "") if first else None,
        labels=sorted(first.labels) if first else [],
        reviewers=sorted(first.pull.requested_reviewers) if first and first.pull else [],
        assignees=sorted(first.assignees) if first else [],
        branches=sorted(branches),
        branch_run=branch_run,
        model_in_remote=in_remote,
        worktrees_left=left,
        checkout_same=checkout_state(world.work) == world.checkout,
        duplicate_comments=sum(n - 1 for n in bodies.values() if n > 1),
    )
