"""The action driven the way the runner drives it: env vars, an event file, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY, against the fake GitHub (PyGithub unchanged), real git and real DVC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promoter.cli import main
from tests.promotion import action_env, make_promotion_repo, read_output_file
from tests.repos import dvc_exe, git

pytestmark = pytest.mark.slow

REPO = "acme/churn-model"


class Runner:
    """One repository, its fake GitHub, and a way to fire events at the action."""

    def __init__(self, tmp_path: Path, home: Path, server, monkeypatch) -> None:
        self.tmp = tmp_path
        repo = make_promotion_repo(tmp_path)
        self.work, self.bare = repo.work, repo.bare
        self.home = home
        self.server = server
        self.monkeypatch = monkeypatch
        state = server.state
        self.repo = state.add_repo(REPO, bare=self.bare)
        for login, role in (("octocat", "admin"), ("reader", "read"), ("reviewer-1", "write")):
            state.set_permission(REPO, login, role)
        self.count = 0

    def fire(
        self, event: str, payload: dict, api_url: str | None = None, **inputs: str
    ) -> tuple[int, dict[str, str], str]:
        """Run `promoter event` like the runner; returns exit code, outputs, step summary."""
        self.count += 1
        event_file = self.tmp / f"event-{self.count}.json"
        event_file.write_text(json.dumps(payload))
        output, summary = self.tmp / f"out-{self.count}", self.tmp / f"summary-{self.count}"
        env = action_env(
            event,
            event_file,
            REPO,
            api_url or self.server.url,
            self.work,
            self.home,
            output,
            summary,
            run_id="4242",
            inputs=inputs,
        )
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        code = main(["event"])
        outputs = read_output_file(output.read_text()) if output.exists() else {}
        return code, outputs, summary.read_text() if summary.exists() else ""

    def comment(self, body: str, author: str = "octocat", on_pr: bool = True, **extra) -> dict:
        """A comment event; on a pull request's conversation unless ``on_pr`` is false."""
        issue = self.server.state.add_issue(REPO, "Model quality")
        conversation: dict = {"number": issue.number, "title": "Model quality"}
        if on_pr:
            conversation["pull_request"] = {"url": f"{self.server.url}/repos/{REPO}/pulls/1"}
        payload = {
            "action": "created",
            "issue": conversation,
            "comment": {
                "id": 900 + self.count,
                "body": body,
                "user": {"login": author, "type": "User"},
                "author_association": "OWNER",
            },
            "repository": {"full_name": REPO},
        }
        self.server.state.repo(REPO).comments[900 + self.count] = _comment_record(
            self.server, 900 + self.count, issue.number, author, body
        )
        for key, value in extra.items():
            payload[key] = value
        return payload

    def pulls(self) -> list:
        return list(self.server.state.repo(REPO).pulls)

    def branch(self, name: str = "promote/train") -> str:
        return git(self.bare, "branch", "--list", name, "--format=%(objectname)").strip()


def _comment_record(server, comment_id: int, number: int, author: str, body: str):
    from tests.fakegithub import Comment

    return Comment(comment_id, number, author, body)


@pytest.fixture
def runner(guild_world, fake_github, tmp_path, monkeypatch):
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    return Runner(tmp_path, guild_world.home, fake_github, monkeypatch)


def _reactions(runner: Runner, comment_id: int) -> list[str]:
    return [r.content for r in runner.server.state.repo(REPO).comments[comment_id].reactions]


def test_nightly_opens_then_updates_in_place_then_changes_nothing(guild_world, runner):
    code, out, summary = runner.fire("schedule", {"schedule": "17 3 * * *"}, run="")
    assert code == 0
    assert out["decision"] == "promoted"
    assert out["run-id"] == guild_world["best"]
    assert out["pr-number"] == "1"
    assert json.loads(out["model-md5"])["models/model.pkl"]
    pull = runner.pulls()[0]
    assert pull.pull.head_ref == "promote/train"
    assert pull.labels == ["model-promotion"]
    assert pull.pull.requested_reviewers == ["reviewer-1"]
    assert f"run={guild_world['best']} -->" in pull.body
    assert "?raw=true" in pull.body
    assert summary.startswith("## ")
    assert not runner.server.unknown_requests

    code, out, _ = runner.fire("schedule", {"schedule": "17 3 * * *"})
    assert (code, out["decision"]) == (0, "unchanged")
    assert len(runner.pulls()) == 1


def test_a_better_run_replaces_the_older_one_with_a_comment(guild_world, runner):
    code, out, _ = runner.fire("schedule", {"schedule": "17 3 * * *"}, run=guild_world["tagged"])
    assert (code, out["decision"]) == (0, "promoted")
    first_sha = runner.branch()
    code, out, _ = runner.fire("schedule", {"schedule": "17 3 * * *"})
    assert (code, out["decision"], out["pr-number"]) == (0, "updated", "1")
    assert runner.branch() != first_sha
    comments = runner.server.state.repo(REPO).comments_on(1)
    assert any("is superseded by run" in c.body for c in comments)
    assert len(runner.pulls()) == 1


def test_dispatch_with_a_run_id(guild_world, runner):
    payload = {"inputs": {"run": guild_world["dirty"][:8], "dry_run": "false", "objective": ""}}
    code, out, _ = runner.fire("workflow_dispatch", payload)
    assert (code, out["decision"], out["run-id"]) == (0, "promoted", guild_world["dirty"])
    assert "⚠️ **Dirty source tree.**" in runner.pulls()[0].body


def test_slash_promote_reacts_replies_and_opens_the_pr(guild_world, runner):
    payload = runner.comment("/promote")
    comment_id = payload["comment"]["id"]
    code, out, _ = runner.fire("issue_comment", payload)
    assert (code, out["decision"]) == (0, "promoted")
    assert _reactions(runner, comment_id) == ["eyes", "rocket"]
    reply = runner.server.state.repo(REPO).comments_on(payload["issue"]["number"])[-1]
    assert reply.body.startswith("> `/promote`")
    assert "pull request #2" in reply.body  # issue #1 holds the comment: numbers are shared
    assert "actions/runs/4242" in reply.body
    permission_calls = runner.server.calls("GET", r"/collaborators/octocat/permission$")
    assert len(permission_calls) == 1


def test_slash_help_compare_and_dry_run(guild_world, runner):
    code, out, _ = runner.fire("issue_comment", runner.comment("/promote help"))
    assert (code, out["decision"]) == (0, "help")
    payload = runner.comment(f"/promote compare {guild_world['best'][:8]} {guild_world['low'][:8]}")
    code, out, _ = runner.fire("issue_comment", payload)
    assert (code, out["decision"]) == (0, "compared")
    table = runner.server.state.repo(REPO).comments_on(payload["issue"]["number"])[-1].body
    assert "| max val\\_acc | 0.93 | 0.8 |" in table

    code, out, _ = runner.fire("issue_comment", runner.comment("/promote --dry-run"))
    assert (code, out["decision"]) == (0, "dry-run")
    assert runner.pulls() == []
    assert runner.branch() == ""


def test_a_read_only_user_is_refused_with_a_reply_and_no_branch(runner):
    payload = runner.comment("/promote", author="reader")
    code, out, _ = runner.fire("issue_comment", payload)
    assert (code, out["decision"]) == (0, "refused")
    reply = runner.server.state.repo(REPO).comments_on(payload["issue"]["number"])[-1]
    assert "needs at least `write` permission" in reply.body
    assert _reactions(runner, payload["comment"]["id"]) == ["eyes", "confused"]
    assert runner.branch() == ""
    assert runner.pulls() == []


def test_a_command_on_a_plain_issue_is_answered_and_runs_nothing(runner):
    from promoter.triggers.comment import NOT_ON_ISSUES

    payload = runner.comment("/promote --dry-run", on_pr=False)
    code, out, _ = runner.fire("issue_comment", payload)
    assert (code, out["decision"]) == (0, "ignored")
    reply = runner.server.state.repo(REPO).comments_on(payload["issue"]["number"])[-1]
    assert NOT_ON_ISSUES in reply.body
    assert _reactions(runner, payload["comment"]["id"]) == ["eyes", "confused"]
    assert runner.branch() == "" and runner.pulls() == []


def test_bot_comments_and_edits_are_ignored_without_api_calls(runner):
    bot = runner.comment("/promote")
    bot["comment"]["user"] = {"login": "github-actions[bot]", "type": "Bot"}
    edited = runner.comment("/promote")
    edited["action"] = "edited"
    runner.server.clear_requests()
    for payload in (bot, edited):
        code, out, _ = runner.fire("issue_comment", payload)
        assert (code, out["decision"]) == (0, "ignored")
    assert runner.server.requests == []


def test_a_502_and_a_secondary_rate_limit_are_retried_to_one_pr(runner):
    runner.server.fail_next("POST", r"/pulls$", status=502)
    runner.server.rate_limit_next("PUT", r"/labels$", retry_after=1)
    code, out, _ = runner.fire("schedule", {"schedule": "17 3 * * *"})
    assert (code, out["decision"]) == (0, "promoted")
    assert len(runner.pulls()) == 1
    assert [r.status for r in runner.server.calls("POST", r"/pulls$")] == [502, 201]


def test_bad_credentials_fail_clearly_and_push_no_branch(runner, capsys):
    code, out, _ = runner.fire("schedule", {"schedule": "17 3 * * *"}, token="wrong")
    assert code == 1
    assert out["decision"] == "failed"
    err = capsys.readouterr()
    assert "401 Bad credentials" in err.err
    assert "::error title=promoter::" in err.out
    assert "::add-mask::wrong" in err.out
    stop = next(line for line in err.out.splitlines() if line.startswith("::stop-commands::"))
    token = stop.removeprefix("::stop-commands::")
    assert err.out.index(stop) < err.out.index(f"::{token}::") < err.out.index("::error")
    assert runner.branch() == ""


def test_the_slash_command_path_imports_neither_dvc_matplotlib_nor_jinja(runner, monkeypatch):
    """The first reaction must come fast: heavy libraries stay out of this path."""
    import subprocess
    import sys

    payload = runner.comment("/promote help")
    event_file = runner.tmp / "help.json"
    event_file.write_text(json.dumps(payload))
    runner.fire("issue_comment", payload)  # sets the runner's environment
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event_file))
    probe = (
        "import sys; from promoter.cli import main; code = main(['event']); "
        "heavy = ('dvc', 'matplotlib', 'jinja2', 'botocore'); "
        "print(code, sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr


def test_promote_from_the_command_line_with_the_github_forge(guild_world, runner, capsys):
    for key, value in {
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": "t",
        "GITHUB_API_URL": runner.server.url,
        "PROMOTER_GITHUB_PACING": "0",
    }.items():
        runner.monkeypatch.setenv(key, value)
    args = ["--project", str(runner.work), "--guild-home", str(runner.home)]
    capsys.readouterr()
    assert main(["promote", *args, "--forge", "github", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decision"] == "promoted"
    assert result["pr_url"].endswith(f"/{REPO}/pull/1")
    runner.monkeypatch.delenv("GITHUB_TOKEN")
    assert main(["promote", *args, "--forge", "github"]) == 2
    assert "needs GITHUB_REPOSITORY (owner/name) and GITHUB_TOKEN" in capsys.readouterr().err


def test_github_enterprise_through_github_api_url(runner):
    payload = runner.comment("/promote help")
    runner.server.clear_requests()
    code, out, _ = runner.fire("issue_comment", payload, api_url=runner.server.enterprise_url)
    assert (code, out["decision"]) == (0, "help")
    assert runner.server.requests
    assert all(r.path.startswith("/api/v3/") for r in runner.server.requests)


def test_slash_promote_a_given_run_and_reject_a_hostile_one(guild_world, runner):
    payload = runner.comment(f"/promote {guild_world['tagged'][:8].upper()}")
    code, out, _ = runner.fire("issue_comment", payload)
    assert (code, out["decision"], out["run-id"]) == (0, "promoted", guild_world["tagged"])

    hostile = runner.comment("/promote $(touch /tmp/pwned) main;ls")
    code, out, _ = runner.fire("issue_comment", hostile)
    assert (code, out["decision"]) == (0, "refused")
    reply = runner.server.state.repo(REPO).comments_on(hostile["issue"]["number"])[-1].body
    assert "`$(touch`" in reply
    assert _reactions(runner, hostile["comment"]["id"]) == ["eyes", "confused"]
    assert not Path("/tmp/pwned").exists()
