"""A push to the base branch through the action, as the action fires it: the merged promotion
registered as a tag (and the history in the job summary), once; tag pushes, other branches,
deleted branches and pushes without a promotion ignored; several tracks in one push."""

from __future__ import annotations

import json
import shutil

import pytest

from promoter.render.escape import md_escape
from promoter.triggers.push import DELETED, OTHER_BRANCH, TAG_PUSH, ZERO_SHA
from tests.fakegithub.state import now
from tests.guildrun import PROJECT_TEMPLATE, guild_run
from tests.merging import merge_pull, push_commit
from tests.repos import commit_all, dvc_exe, git
from tests.test_action import REPO, Runner
from tests.test_tracks import GUILD_YML

pytestmark = pytest.mark.slow

NIGHTLY = {"schedule": "17 3 * * *"}


@pytest.fixture
def action(guild_world, fake_github, tmp_path, monkeypatch) -> Runner:
    """The action's runner (tests/test_action.py) on a fresh repository."""
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    return Runner(tmp_path, guild_world.home, fake_github, monkeypatch)


def _push(action: Runner, before: str, after: str, ref: str = "refs/heads/main") -> dict:  # type: ignore[type-arg]
    """A push payload as GitHub sends it (the fields promoter reads, and a few more)."""
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "created": before == ZERO_SHA,
        "deleted": after == ZERO_SHA,
        "forced": False,
        "base_ref": None,
        "commits": [],
        "head_commit": None if after == ZERO_SHA else {"id": after},
        "repository": {"full_name": REPO, "default_branch": "main"},
        "pusher": {"name": "octocat"},
        "sender": {"login": "octocat", "type": "User"},
    }


def _merge(
    action: Runner, number: int, branch: str = "promote/train", push: bool = True
) -> tuple[str, str]:
    """Merge PR ``number`` as GitHub's button does; (main before, the merge commit)."""
    before = git(action.bare, "rev-parse", "main").strip()
    merged = merge_pull(action.bare, action.tmp / "merger", branch, number, push=push)
    issue = next(i for i in action.pulls() if i.number == number)
    issue.state, issue.closed_at = "closed", now()
    assert issue.pull is not None
    issue.pull.merged = True
    return before, merged


def _tags(action: Runner) -> dict[str, str]:
    out = git(action.bare, "for-each-ref", "--format=%(refname:short) %(*objectname)", "refs/tags")
    return dict(line.split() for line in out.splitlines())


def test_the_merge_push_registers_once_with_the_history_in_the_summary(guild_world, action):
    code, out, _ = action.fire("schedule", NIGHTLY)
    assert (code, out["decision"]) == (0, "promoted")
    before, merged = _merge(action, 1)

    code, out, summary = action.fire("push", _push(action, before, merged))
    assert (code, out["decision"]) == (0, "registered")
    assert (out["tag"], out["run-id"]) == ("train@v0.1.0", guild_world["best"])
    (track,) = json.loads(out["tracks"])
    assert track["created"] is True and track["version"] == "v0.1.0"
    assert _tags(action) == {"train@v0.1.0": merged}
    message = git(action.bare, "tag", "-l", "--format=%(contents)", "train@v0.1.0")
    assert f"Pull request: #1 {action.server.url}/{REPO}/pull/1" in message
    assert summary.startswith("## promoter: registered")
    assert "### Champions of `train` on `main`" in summary
    assert "| `train@v0.1.0` |" in summary
    assert out["history-plot"] == "promoter-history.png"
    assert (action.work / "promoter-history.png").read_bytes()[:4] == b"\x89PNG"

    # The same push delivered again (a re-run of the job) adds nothing.
    code, out, summary = action.fire("push", _push(action, before, merged))
    assert (code, out["decision"], out["tag"]) == (0, "registered", "train@v0.1.0")
    assert json.loads(out["tracks"])[0]["created"] is False
    assert "registered already" in summary
    assert _tags(action) == {"train@v0.1.0": merged}

    # A later commit on main without a promotion registers nothing.
    later = push_commit(action.bare, action.tmp / "merger", "NOTES.md", "notes\n")
    code, out, summary = action.fire("push", _push(action, merged, later))
    assert (code, out["decision"]) == (0, "ignored")
    assert "this push brings no promotion of train" in summary
    assert _tags(action) == {"train@v0.1.0": merged}


def test_tag_pushes_other_branches_and_deletions_are_ignored_before_any_work(action):
    sha = git(action.bare, "rev-parse", "main").strip()
    cases = [
        (
            _push(action, ZERO_SHA, sha, "refs/tags/train@v0.1.0"),
            TAG_PUSH.format(tag="train@v0.1.0"),
        ),
        (
            _push(action, sha, sha, "refs/heads/feature"),
            OTHER_BRANCH.format(branch="feature", bases="main"),
        ),
        (_push(action, sha, ZERO_SHA), DELETED.format(branch="main")),
    ]
    action.server.clear_requests()
    for payload, reason in cases:
        code, out, summary = action.fire("push", payload)
        assert (code, out["decision"]) == (0, "ignored")
        assert md_escape(reason) in summary
    assert action.server.requests == []
    assert _tags(action) == {}


def test_a_push_of_the_real_fixture_payload_is_read(action):
    """octokit's push example (a deleted tag) routes as a tag push."""
    from tests.conftest import SHARED_FIXTURES

    path = SHARED_FIXTURES / "github" / "events" / "push" / "payload.json"
    if not path.is_file():
        pytest.skip("the shared fixtures are not here")
    payload = json.loads(path.read_text())
    payload["repository"]["full_name"] = REPO
    code, out, summary = action.fire("push", payload)
    assert (code, out["decision"]) == (0, "ignored")
    assert md_escape(TAG_PUSH.format(tag="simple-tag")) in summary


TRACKS = """\
select: {objective: max val_acc}
tracks:
  - name: intro
    source: {operation: "intro:train"}
    merge:
      flags_file: intro/params.yml
      artifacts: [{from: model.pkl, to: intro/model.pkl, dvc: true}]
  - name: expert/large
    source: {operation: "expert:train"}
    merge:
      flags_file: expert/params.yml
      artifacts: [{from: model.pkl, to: expert/model.pkl, dvc: true}]
registry: {bump: patch}
"""


def test_two_tracks_merged_in_one_push_are_each_registered(action, tmp_path):
    shutil.copy(PROJECT_TEMPLATE / "train.py", action.work / "train.py")
    (action.work / "guild.yml").write_text(GUILD_YML)
    (action.work / ".promoter.yml").write_text(TRACKS)
    commit_all(action.work, "two models")
    git(action.work, "push", "-q", "origin", "main")
    action.home = tmp_path / "two-models"
    action.home.mkdir()
    intro = guild_run(action.work, action.home, "intro:train", "acc=0.9")
    expert = guild_run(action.work, action.home, "expert:train", "acc=0.7")
    code, out, _ = action.fire("schedule", NIGHTLY)
    assert (code, out["decision"]) == (0, "promoted")
    numbers = {
        json.loads(out["tracks"])[i]["track"]: json.loads(out["tracks"])[i]["pr-number"]
        for i in (0, 1)
    }

    before, _ = _merge(action, numbers["intro"], "promote/intro", push=False)
    _, merged = _merge(action, numbers["expert/large"], "promote/expert/large")
    code, out, summary = action.fire("push", _push(action, before, merged))
    assert (code, out["decision"]) == (0, "registered")
    registered = {t["track"]: (t["run-id"], t["tag"]) for t in json.loads(out["tracks"])}
    assert registered == {
        "intro": (intro, "intro@v0.0.1"),
        "expert/large": (expert, "expert/large@v0.0.1"),
    }
    tags = _tags(action)
    assert set(tags) == {"intro@v0.0.1", "expert/large@v0.0.1"}
    assert tags["expert/large@v0.0.1"] == merged
    assert tags["intro@v0.0.1"] != merged  # the first merge brought intro's champion
    assert "### Champions of `expert/large` on `main`" in summary
