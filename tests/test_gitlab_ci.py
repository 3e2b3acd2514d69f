"""`promoter event` in a GitLab CI job, driven the way a runner drives it: CI variables, a
webhook payload file, the dotenv report and the job log, against the fake GitLab
(python-gitlab unchanged), real git pushing over HTTP with the token, real DVC and Guild runs.

The checkout's ``origin`` is what a GitLab runner leaves: the project's HTTP URL with the job
token in it, which cannot push; promoter pushes with its own token."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promoter.cli import main
from promoter.forges.gitlab_client import UNAUTHORIZED
from promoter.hosts.gitlab_ci.event import NOT_ON_MR, OTHER_SOURCE, SYSTEM_NOTE
from promoter.triggers.comment import NOT_ON_ISSUES
from promoter.triggers.events import IGNORED_ACTION, IGNORED_BOT
from promoter.triggers.push import OTHER_BRANCH, TAG_PUSH, ZERO_SHA
from tests.fakegitlab import DEFAULT_TOKEN, DEFAULT_USER, DEVELOPER, JOB_TOKEN, REPORTER
from tests.merging import merge_pull
from tests.promotion import make_promotion_repo
from tests.repos import dvc_exe, git

pytestmark = pytest.mark.slow

PATH = "ml/churn-model"
SCHEDULE = "schedule"


class Job:
    """One project on the fake GitLab, its checkout as a runner leaves it, and a way to run
    `promoter event` in a job of a pipeline of any source."""

    def __init__(self, tmp_path: Path, home: Path, server: Any, monkeypatch, capsys) -> None:
        self.tmp = tmp_path
        repo = make_promotion_repo(tmp_path)
        self.work, self.bare = repo.work, repo.bare
        self.home = home
        self.server = server
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        state = server.state
        self.project = state.add_project(PATH, bare=self.bare)
        for name, level in (("alice", DEVELOPER), ("rita", REPORTER), ("reviewer-1", DEVELOPER)):
            state.set_access(self.project, name, level)
        userinfo = f"gitlab-ci-token:{JOB_TOKEN}@"
        origin = server.url.replace("://", f"://{userinfo}") + f"/{PATH}.git"
        git(self.work, "remote", "set-url", "origin", origin)
        self.discussion = state.add_merge_request(
            self.project, "experiment", "main", "Model quality", author="alice"
        )
        self.count = 0
        self.set_env: set[str] = set()
        self.log = ""

    def fire(
        self,
        source: str,
        payload: dict | None = None,
        token: str = DEFAULT_TOKEN,
        ci: dict[str, str] | None = None,
        **variables,
    ) -> tuple[int, dict[str, str]]:
        """Run `promoter event` like the job; returns the exit code and the dotenv report."""
        self.count += 1
        dotenv = self.work / "promoter.env"
        dotenv.unlink(missing_ok=True)
        env = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": source,
            "CI_SERVER_URL": self.server.url,
            "CI_API_V4_URL": self.server.api_url,
            "CI_PROJECT_ID": str(self.project.id),
            "CI_PROJECT_PATH": PATH,
            "CI_PROJECT_URL": f"{self.server.url}/{PATH}",
            "CI_PROJECT_DIR": str(self.work),
            "CI_DEFAULT_BRANCH": "main",
            "CI_COMMIT_SHA": git(self.work, "rev-parse", "HEAD").strip(),
            "CI_PIPELINE_URL": f"{self.server.url}/{PATH}/-/pipelines/77",
            "CI_JOB_URL": f"{self.server.url}/{PATH}/-/jobs/4242",
            "CI_JOB_TOKEN": JOB_TOKEN,
            "GITLAB_USER_LOGIN": "alice",
            "PROMOTER_TOKEN": token,
            "PROMOTER_GUILD_HOME": str(self.home),
        }
        if payload is not None:
            path = self.tmp / f"payload-{self.count}.json"
            path.write_text(json.dumps(payload))
            env["TRIGGER_PAYLOAD"] = str(path)
        env |= {f"PROMOTER_{k.upper()}": v for k, v in variables.items()} | (ci or {})
        for key in self.set_env - env.keys():
            self.monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        self.set_env = set(env)
        self.capsys.readouterr()
        code = main(["event"])
        captured = self.capsys.readouterr()
        self.log = captured.out + captured.err
        report = dotenv.read_text() if dotenv.exists() else ""
        for secret in {DEFAULT_TOKEN, token} - {""}:
            assert secret not in self.log and secret not in report
        return code, dict(line.split("=", 1) for line in report.splitlines())

    def note(
        self, body: str, author: str = "alice", on_issue: bool = False, **attributes: Any
    ) -> dict:
        """A note by ``author`` on the discussion MR (or on a new issue), and its webhook."""
        state = self.server.state
        on = state.add_issue(self.project, "Model quality") if on_issue else self.discussion
        note = state.add_note(self.project, on, body, author=author)
        user = state.add_user(author)
        kind = "Issue" if on_issue else "MergeRequest"
        where = "issues" if on_issue else "merge_requests"
        web = f"{self.server.url}/{PATH}"
        payload: dict[str, Any] = {
            "object_kind": "note",
            "event_type": "note",
            "user": {"id": user.id, "name": user.name, "username": author},
            "project_id": self.project.id,
            "project": {"id": self.project.id, "path_with_namespace": PATH, "web_url": web},
            "object_attributes": {
                "id": note.id,
                "note": body,
                "noteable_type": kind,
                "author_id": user.id,
                "noteable_id": on.id,  # the global id: not what URLs take
                "system": False,
                "action": "create",
                "url": f"{web}/-/{where}/{on.iid}#note_{note.id}",
            }
            | attributes,
            ("issue" if on_issue else "merge_request"): {
                "id": on.id,
                "iid": on.iid,
                "title": on.title,
                "state": "opened",
            },
        }
        self.notes = {"id": note.id, "on": on}
        return payload

    def awards(self, payload: dict) -> list[str]:
        note = self.project.notes[payload["object_attributes"]["id"]]
        return [a.name for a in note.awards]

    def replies(self, payload: dict) -> list[str]:
        kind = payload["object_attributes"]["noteable_type"]
        iid = (payload.get("merge_request") or payload.get("issue") or {})["iid"]
        bot = self.server.state.user_named(DEFAULT_USER)
        own = payload["object_attributes"]["id"]
        notes = self.project.notes_on(kind, iid)
        return [n.body for n in notes if n.author_id == bot.id and n.id != own]

    def promotions(self) -> list:
        return [mr for mr in self.project.merge_requests.values() if mr is not self.discussion]

    def branch(self, name: str = "promote/train") -> str:
        return git(self.bare, "branch", "--list", name, "--format=%(objectname)").strip()

    def writes(self) -> list:
        """API calls that change something, and git pushes (fetches are git POSTs too)."""
        return [
            r
            for r in self.server.requests
            if (r.method != "GET" and not r.git) or "receive-pack" in r.route
        ]


@pytest.fixture
def job(guild_world, fake_gitlab, tmp_path, monkeypatch, capsys):
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    made = Job(tmp_path, guild_world.home, fake_gitlab, monkeypatch, capsys)
    yield made
    assert not fake_gitlab.unknown_requests


def test_nightly_opens_one_mr_then_changes_nothing(guild_world, job):
    code, out = job.fire(SCHEDULE)
    assert (code, out["PROMOTER_DECISION"]) == (0, "promoted")
    assert out["PROMOTER_RUN_ID"] == guild_world["best"]
    (mr,) = job.promotions()
    assert out["PROMOTER_MR_IID"] == str(mr.iid)
    assert out["PROMOTER_MR_URL"] == f"{job.server.url}/{PATH}/-/merge_requests/{mr.iid}"
    assert json.loads(out["PROMOTER_MODEL_MD5"])["models/model.pkl"]
    assert (mr.source_branch, mr.target_branch, mr.labels) == (
        "promote/train",
        "main",
        ["model-promotion"],
    )
    reviewer = job.server.state.user_named("reviewer-1")
    assert reviewer is not None and mr.reviewer_ids == [reviewer.id]
    assert f"run={guild_world['best']} -->" in mr.description
    sha = job.branch()
    assert sha and f"/{PATH}/-/raw/{sha}/.promoter/promotions/" in mr.description
    assert re.search(r"\x1b\[0Ksection_start:\d+:promoter_body\[collapsed=true\]", job.log)
    assert "promoter: promoted: " in job.log

    code, out = job.fire(SCHEDULE)
    assert (code, out["PROMOTER_DECISION"], out["PROMOTER_MR_IID"]) == (0, "unchanged", str(mr.iid))
    assert len(job.promotions()) == 1 and job.branch() == sha


def test_a_better_run_updates_the_mr_in_place_with_a_note(guild_world, job):
    code, out = job.fire(SCHEDULE, run=guild_world["tagged"])
    assert (code, out["PROMOTER_DECISION"]) == (0, "promoted")
    first = job.branch()
    code, out = job.fire(SCHEDULE)
    assert (code, out["PROMOTER_DECISION"], out["PROMOTER_RUN_ID"]) == (
        0,
        "updated",
        guild_world["best"],
    )
    (mr,) = job.promotions()
    assert job.branch() != first and f"run={guild_world['best']} -->" in mr.description
    notes = [n.body for n in job.project.notes_on("MergeRequest", mr.iid)]
    assert len(notes) == 1 and "is superseded by run" in notes[0]


def test_the_run_pipeline_form_with_variables(guild_world, job):
    code, out = job.fire("web", dry_run="true")
    assert (code, out["PROMOTER_DECISION"]) == (0, "dry-run")
    assert job.branch() == "" and job.promotions() == [] and job.writes() == []
    assert "promoter_body[collapsed=true]" in job.log

    code, out = job.fire("web", run=guild_world["tagged"][:8].upper(), dry_run="false")
    assert (code, out["PROMOTER_DECISION"], out["PROMOTER_RUN_ID"]) == (
        0,
        "promoted",
        guild_world["tagged"],
    )
    code, out = job.fire("web", dry_run="maybe")
    assert code == 2 and out["PROMOTER_DECISION"] == "failed"
    assert "PROMOTER_DRY_RUN 'maybe' is not true or false" in job.log


def test_a_trigger_without_payload_is_a_dispatch(guild_world, job):
    code, out = job.fire("trigger", run=guild_world["dirty"][:8])
    assert (code, out["PROMOTER_DECISION"], out["PROMOTER_RUN_ID"]) == (
        0,
        "promoted",
        guild_world["dirty"],
    )


def test_a_developers_note_command_promotes(guild_world, job):
    payload = job.note("/promote")
    code, out = job.fire("trigger", payload)
    assert (code, out["PROMOTER_DECISION"]) == (0, "promoted")
    assert job.awards(payload) == ["eyes", "rocket"]
    (mr,) = job.promotions()
    (reply,) = job.replies(payload)
    assert reply.startswith("> `/promote`")
    assert f"merge request !{mr.iid}" in reply and "/-/jobs/4242" in reply
    alice = job.server.state.user_named("alice")
    assert alice is not None
    assert len(job.server.calls("GET", rf"/members/all/{alice.id}$")) == 1
    awards = [r.route for r in job.server.calls("POST", "award_emoji")]
    writes = [r.route for r in job.writes()]
    assert writes[0] == awards[0]  # the first thing the bot writes is 👀
    # Everything the bot asked before 👀: reads only.
    first_write = job.server.requests.index(job.writes()[0])
    assert all(r.method == "GET" for r in job.server.requests[:first_write])


def test_a_reporter_whose_payload_claims_more_is_refused(job):
    payload = job.note("/promote", author="rita")
    payload["user"]["access_level"] = 50  # nothing in a payload is believed
    payload["object_attributes"]["author_association"] = "OWNER"
    payload["merge_request"]["author_id"] = job.server.state.user_named("alice").id
    code, out = job.fire("trigger", payload)
    assert (code, out["PROMOTER_DECISION"]) == (0, "refused")
    (reply,) = job.replies(payload)
    assert "needs at least `write` permission" in reply and "(has `triage`)" in reply
    assert job.awards(payload) == ["eyes", "confused"]
    assert job.branch() == "" and job.promotions() == []


def test_edits_system_notes_bots_and_the_token_user_are_ignored_without_writes(job):
    job.server.state.add_user("project_7_bot_8d1c", bot=True)
    cases = [
        (job.note("/promote", action="update"), IGNORED_ACTION.format(action="edited")),
        (job.note("/promote", system=True), SYSTEM_NOTE),
        (job.note("/promote", author="project_7_bot_8d1c"), "bots cannot give commands"),
        (job.note("/promote", author=DEFAULT_USER), IGNORED_BOT.format(login=DEFAULT_USER)),
        (job.note("Looks good to me"), "holds no /promote command"),
    ]
    job.server.clear_requests()
    for payload, reason in cases:
        code, out = job.fire("trigger", payload)
        assert (code, out["PROMOTER_DECISION"]) == (0, "ignored"), reason
        assert reason in job.log
        assert job.awards(payload) == []
    assert job.writes() == []  # no award, no note, no push
    assert job.branch() == ""


def test_a_note_on_an_issue_is_answered_there_and_pushes_nothing(job):
    payload = job.note("/promote", on_issue=True)
    code, out = job.fire("trigger", payload)
    assert (code, out["PROMOTER_DECISION"]) == (0, "ignored")
    (reply,) = job.replies(payload)
    assert NOT_ON_ISSUES in reply
    assert job.awards(payload) == ["eyes", "confused"]
    issue = "/projects/ml%2Fchurn-model/issues/1"
    note = payload["object_attributes"]["id"]
    assert [r.route for r in job.writes()] == [
        f"{issue}/notes/{note}/award_emoji",
        f"{issue}/notes",
        f"{issue}/notes/{note}/award_emoji",
    ]
    assert job.branch() == "" and job.promotions() == []


def test_other_sources_end_ignored_without_a_token_or_a_call(job):
    for source in ("merge_request_event", "chat", "external_pull_request_event"):
        code, out = job.fire(source, token="")
        assert (code, out["PROMOTER_DECISION"]) == (0, "ignored")
        assert OTHER_SOURCE.format(source=source) in job.log
    assert job.server.requests == []


def test_a_webhook_that_is_not_a_note_or_not_on_an_mr_is_ignored(job):
    code, out = job.fire("trigger", {"object_kind": "push", "ref": "refs/heads/main"})
    assert (code, out["PROMOTER_DECISION"]) == (0, "ignored")
    payload = job.note("/promote")
    payload["object_attributes"]["noteable_type"] = "Commit"
    code, out = job.fire("trigger", payload)
    assert (code, out["PROMOTER_DECISION"]) == (0, "ignored")
    assert NOT_ON_MR.format(kind="commit") in job.log
    assert job.server.requests == []


def test_5xx_and_429_are_retried_to_exactly_one_mr(job):
    job.server.fail_next("POST", r"/merge_requests$", status=502)
    job.server.fail_next("GET", r"/merge_requests$", status=500)
    job.server.rate_limit_next("POST", r"/merge_requests$", retry_after=1)
    code, out = job.fire(SCHEDULE)
    assert (code, out["PROMOTER_DECISION"]) == (0, "promoted")
    assert len(job.promotions()) == 1
    assert [r.status for r in job.server.calls("POST", r"/merge_requests$")] == [502, 429, 201]


def test_a_lost_answer_after_the_mr_was_created_ends_with_one_mr(job):
    job.server.lose_answer_next("POST", r"/merge_requests$")
    code, out = job.fire(SCHEDULE)
    assert (code, out["PROMOTER_DECISION"]) == (0, "promoted")
    (mr,) = job.promotions()
    assert out["PROMOTER_MR_IID"] == str(mr.iid)


def test_a_wrong_token_fails_in_one_clear_line_and_pushes_nothing(job):
    code, out = job.fire(SCHEDULE, token="glpat-not-the-right-one")
    assert (code, out) == (1, {"PROMOTER_DECISION": "failed"})
    errors = [line for line in job.log.splitlines() if "error" in line.lower()]
    assert errors == [f"promoter: error: {UNAUTHORIZED}"]
    assert job.branch() == "" and job.promotions() == []


def test_promote_from_the_command_line_with_the_gitlab_forge(guild_world, job, capsys):
    env = {
        "CI_PROJECT_PATH": PATH,
        "CI_SERVER_URL": job.server.url,
        "GITLAB_TOKEN": DEFAULT_TOKEN,
    }
    for key, value in env.items():
        job.monkeypatch.setenv(key, value)
    job.monkeypatch.delenv("PROMOTER_TOKEN", raising=False)
    args = ["--project", str(job.work), "--guild-home", str(job.home)]
    capsys.readouterr()
    assert main(["promote", *args, "--forge", "gitlab", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decision"] == "promoted"
    assert result["pr_url"].endswith(f"/{PATH}/-/merge_requests/{result['pr_number']}")
    job.monkeypatch.delenv("GITLAB_TOKEN")
    assert main(["promote", *args, "--forge", "gitlab"]) == 2
    assert "needs CI_PROJECT_PATH (group/project) and PROMOTER_TOKEN" in capsys.readouterr().err


def test_the_note_command_path_imports_neither_dvc_matplotlib_nor_jinja(job):
    """The first award emoji must come fast: heavy libraries stay out of this path."""
    payload = job.note("/promote help")
    job.fire("trigger", payload)  # sets the job's environment
    payload = job.note("/promote help")
    path = job.tmp / "help.json"
    path.write_text(json.dumps(payload))
    job.monkeypatch.setenv("TRIGGER_PAYLOAD", str(path))
    probe = (
        "import sys; from promoter.cli import main; code = main(['event']); "
        "print(code, sorted(m for m in ('dvc', 'matplotlib', 'jinja2') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr
    assert job.awards(payload) == ["eyes", "rocket"]


def _push_ci(branch: str, before: str, after: str, tag: str = "") -> dict[str, str]:
    """What a push pipeline's variables say of the push."""
    ci = {"CI_COMMIT_BEFORE_SHA": before, "CI_COMMIT_SHA": after}
    return ci | ({"CI_COMMIT_TAG": tag} if tag else {"CI_COMMIT_BRANCH": branch})


def test_the_merge_push_pipeline_registers_the_champion_once(guild_world, job):
    code, out = job.fire(SCHEDULE)
    assert (code, out["PROMOTER_DECISION"]) == (0, "promoted")
    (mr,) = job.promotions()
    before = git(job.bare, "rev-parse", "main").strip()
    merged = merge_pull(job.bare, job.tmp / "merger", "promote/train", mr.iid)
    mr.state = "merged"
    git(job.work, "fetch", "-q", "origin")
    git(job.work, "checkout", "-q", "--detach", merged)  # what the runner checks out

    code, out = job.fire("push", ci=_push_ci("main", before, merged))
    assert (code, out["PROMOTER_DECISION"]) == (0, "registered"), job.log
    assert (out["PROMOTER_TAG"], out["PROMOTER_RUN_ID"]) == ("train@v0.1.0", guild_world["best"])
    (track,) = json.loads(out["PROMOTER_TRACKS"])
    assert (track["tag"], track["created"]) == ("train@v0.1.0", True)
    tagged = git(job.bare, "rev-parse", "train@v0.1.0^{commit}").strip()
    assert tagged == merged
    message = git(job.bare, "tag", "-l", "--format=%(contents)", "train@v0.1.0")
    assert f"{job.server.url}/{PATH}/-/merge_requests/{mr.iid}" in message
    assert out["PROMOTER_HISTORY_PLOT"] == "promoter-history.png"
    assert (job.work / "promoter-history.png").read_bytes()[:4] == b"\x89PNG"
    assert re.search(r"section_start:\d+:promoter_body\[collapsed=true\]", job.log)
    assert "| `train@v0.1.0` |" in job.log

    # The job re-run: nothing new; a tag push and another branch: ignored before any call.
    code, out = job.fire("push", ci=_push_ci("main", before, merged))
    assert (code, out["PROMOTER_DECISION"], out["PROMOTER_TAG"]) == (
        0,
        "registered",
        "train@v0.1.0",
    )
    assert json.loads(out["PROMOTER_TRACKS"])[0]["created"] is False
    job.server.clear_requests()
    for ci, reason in (
        (_push_ci("", ZERO_SHA, merged, tag="train@v0.1.0"), TAG_PUSH.format(tag="train@v0.1.0")),
        (_push_ci("feature", merged, merged), OTHER_BRANCH.format(branch="feature", bases="main")),
    ):
        code, out = job.fire("push", ci=ci)
        assert (code, out["PROMOTER_DECISION"], out["PROMOTER_TAG"]) == (0, "ignored", "")
        assert reason in job.log
    assert job.server.requests == []
    assert git(job.bare, "tag", "-l").split() == ["train@v0.1.0"]

    # By hand, from the command line: the registration is found, nothing is added.
    capsys = job.capsys
    args = ["--project", str(job.work), "--guild-home", str(job.home)]
    assert main(["register", *args, "--forge", "gitlab", "--json"]) == 0
    (again,) = json.loads(capsys.readouterr().out)["tracks"]
    assert (again["tag"], again["created"]) == ("train@v0.1.0", False)
    assert again["decision"] == "registered"


def test_pushes_that_register_nothing_need_no_token_and_make_no_call(job):
    sha = git(job.bare, "rev-parse", "main").strip()
    for ci in (
        _push_ci("feature", sha, sha),
        _push_ci("", ZERO_SHA, sha, tag="v1.0"),
        _push_ci("main", sha, ZERO_SHA),
    ):
        code, out = job.fire("push", ci=ci, token="")
        assert (code, out["PROMOTER_DECISION"], out["PROMOTER_TAG"]) == (0, "ignored", "")
    assert job.server.requests == []


def test_a_push_variable_that_is_no_commit_fails_in_one_line(job):
    code, out = job.fire("push", ci=_push_ci("main", "HEAD~1; rm -rf /", "a" * 40), token="")
    assert (code, out["PROMOTER_DECISION"]) == (2, "failed")
    assert "CI_COMMIT_BEFORE_SHA 'head~1; rm -rf /' is not a commit id" in job.log
