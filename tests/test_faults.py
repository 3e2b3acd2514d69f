"""Promotions under faults, run as CI runs them: ``promoter event`` and ``promoter promote`` as
subprocesses with real Guild runs, real git and DVC, against the fake GitHub.

Each kill lands right after one step of ``promote`` has taken effect (the wrappers of
:mod:`tests.faultkit`, or the fake GitHub killing the client once a write is done); a plain
re-run must then converge: one PR with the configured labels, reviewers and assignees, one
branch, the model in the DVC remote, no worktree left, the user's checkout untouched.
"""

from __future__ import annotations

import pytest

from tests.faultkit import KillAt, World, convergence
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
