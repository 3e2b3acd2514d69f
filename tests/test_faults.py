"""Promotions under faults, run as CI runs them: ``promoter event`` and ``promoter promote`` as
subprocesses with real Guild runs, real git and DVC, against the fake GitHub.

Each kill lands right after one step of ``promote`` has taken effect (the wrappers of
:mod:`tests.faultkit`, or the fake GitHub killing the client once a write is done); a plain
re-run must then converge: one PR with the configured labels, reviewers and assignees, one
branch, the model in the DVC remote, no worktree left, the user's checkout untouched.
"""

from __future__ import annotations

import pytest

from tests.faultkit import KillAt
from tests.faultworld import World, convergence
from tests.repos import dvc_exe

pytestmark = pytest.mark.slow


@pytest.fixture
def world(guild_world, fake_github, tmp_path) -> World:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    return World(tmp_path, fake_github, guild_world.home)


# What must be true right after each kill: proof that the fault landed where it says.
TOOL_KILLS = {
    KillAt("dvc", "add"): "the model in the cache only",
    KillAt("dvc", "push"): "the model in the DVC remote, no branch",
    KillAt("git", "commit"): "a commit in the scratch worktree only",
    KillAt("git", "push"): "the branch pushed, no PR",
}


def _landed(world: World, kill: KillAt) -> None:
    objects, branch, pulls = world.model_objects(), world.branch_sha(), world.pulls()
    if (kill.tool, kill.verb) in (("dvc", "push"), ("git", "commit")):
        assert objects and not branch
    elif kill.verb == "push":
        assert objects and branch and not pulls
    else:
        assert not objects and not branch
    assert pulls == []


@pytest.mark.parametrize("kill", list(TOOL_KILLS), ids=str)
def test_a_kill_after_each_step_then_a_rerun_converges(world, guild_world, kill, ledger) -> None:
    entry = ledger("converge")
    killed = world.event(kill=kill)
    assert killed.killed, f"not killed {kill}: {killed.code}\n{killed.stderr}"
    assert killed.calls[-1] == f"{kill.tool} {kill.verb}"
    _landed(world, kill)
    again = world.event()
    state = convergence(world)
    entry.case()
    entry.measured(state.duplicates, state.lost)
    assert (again.code, again.outputs.get("decision")) == (0, "promoted"), again.stderr
    assert state.problems(guild_world["best"]) == []
    assert ", left by promoter process" in again.stderr  # the dead one's worktree


# Kills by the fake GitHub, once a write has taken effect and before its answer is sent: each
# job gets one step further than the one before, and is killed there.
API_KILLS = {
    "create the PR": ("POST", r"/pulls$"),
    "add labels": ("POST", r"/issues/\d+/labels$"),
    "add assignees": ("POST", r"/issues/\d+/assignees$"),
    "request reviewers": ("POST", r"/pulls/\d+/requested_reviewers$"),
}


def test_kills_after_each_forge_write_then_a_rerun_converges(world, guild_world, ledger) -> None:
    entry = ledger("converge")
    for step, (method, path) in API_KILLS.items():
        world.server.lose_answer_next(method, path, then=world.kill_job)
        killed = world.event()
        assert killed.killed, f"{step}: {killed.code}\n{killed.stderr}"
        hit = world.server.calls(method, path)[-1]
        assert (hit.effect, hit.status) in ((200, 0), (201, 0)), step  # done, never answered
        state = convergence(world)
        entry.case()
        entry.measured(state.duplicates, state.lost)
        assert state.all_prs == 1 and state.duplicates == 0 and state.lost == 0, step
    again = world.event()
    state = convergence(world)
    entry.measured(state.duplicates, state.lost)
    assert (again.code, again.outputs.get("decision")) == (0, "unchanged"), again.stderr
    assert again.outputs["pr-number"] == str(world.pulls()[0].number)
    assert state.problems(guild_world["best"]) == []


def test_two_promotions_at_once_from_the_cli_and_ci_end_with_one_pr(
    world, guild_world, ledger
) -> None:
    entry = ledger("one-pr")
    event_env, output, _ = world._event_env("schedule", None, {})
    cli_env = {
        "GITHUB_REPOSITORY": "acme/churn-model",
        "GITHUB_TOKEN": "t",
        "GITHUB_API_URL": world.server.url,
        "PROMOTER_GITHUB_PACING": "0",
    }
    cli = ["promote", "--project", str(world.work), "--guild-home", str(world.home)]
    procs = [
        world.start([*cli, "--forge", "github", "--json"], cli_env),
        world.start(["event"], event_env),
        world.start([*cli, "--forge", "github", "--json"], cli_env),
    ]
    done = [p.communicate(timeout=300) for p in procs]
    state = convergence(world)
    entry.case(faults=len(procs) - 1)
    entry.measured(state.duplicates, state.lost)
    assert [p.returncode for p in procs] == [0, 0, 0], done
    from tests.promotion import read_output_file

    decisions = [
        __import__("json").loads(done[0][0])["decision"],
        read_output_file(output.read_text())["decision"],
        __import__("json").loads(done[2][0])["decision"],
    ]
    assert sorted(decisions) == ["promoted", "unchanged", "unchanged"]
    assert state.problems(guild_world["best"]) == []
    assert any("waiting for another promotion" in err for _, err in done)


def test_a_human_s_pr_on_the_branch_is_refused_loudly_and_closing_ours_declines(
    world, guild_world, ledger
) -> None:
    """A person's PR from the promotion branch: nothing pushed, a warning, the job fails.
    Then promoter's own PR closed by a reviewer: the run is not proposed again."""
    from tests.repos import git

    entry = ledger("human-commits")
    clone = world.tmp / "person"
    git(world.tmp, "clone", "-q", str(world.bare), str(clone))
    git(clone, "checkout", "-q", "-b", "promote/train")
    (clone / "notes.md").write_text("my experiment\n")
    git(clone, "add", "notes.md")
    git(clone, "-c", "user.name=Ann", "-c", "user.email=a@example.com", "commit", "-qm", "WIP")
    git(clone, "push", "-q", "origin", "promote/train")
    theirs = world.branch_sha()
    gh = world.server.client()
    gh.get_repo("acme/churn-model").create_pull(
        base="main", head="promote/train", title="WIP: my tweaks", body="by a person"
    )
    job = world.event()
    entry.case()
    loud = ledger("human")
    loud.case()
    loud.outcome("a PR promoter did not open", job.outputs["decision"], job.code, "::warning")
    entry.measured(lost=0 if world.branch_sha() == theirs else 1)
    assert (job.code, job.outputs["decision"]) == (1, "refused"), job.stderr
    assert any(a.startswith("::warning") and "pull request #1" in a for a in job.annotations)
    assert "needs someone to act" in job.stderr
    assert world.branch_sha() == theirs and world.model_objects() == set()

    declined = ledger("declined")
    with world.server.state.lock:
        world.repo.issues[1].state = "closed"
    git(clone, "push", "-q", "--delete", "origin", "promote/train")
    assert (world.event().outputs["decision"]) == "promoted"
    with world.server.state.lock:
        world.repo.issues[2].state = "closed"  # a reviewer declines the promotion
    job = world.event()
    declined.case()
    declined.measured(duplicates=len(world.pulls()) - 2)
    assert (job.code, job.outputs["decision"]) == (0, "declined"), job.stderr
    assert "was declined in pull request #2" in job.stdout
    assert [p.number for p in world.pulls()] == [1, 2]
