"""The container's entrypoint: whom promoter runs as (pure), and the switch itself (as root)."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("entrypoint", ROOT / "action" / "entrypoint.py")
assert _spec and _spec.loader
ep = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ep  # dataclasses look their module up
_spec.loader.exec_module(ep)

RUNNER = ep.Owner(uid=1001, gid=127, mode=0o755)  # a GitHub runner's checkout
READABLE_HOME = [ep.Owner(1001, 127, 0o755), ep.Owner(1001, 127, 0o755)]


def test_root_on_the_runners_workspace_becomes_its_owner():
    assert ep.decide(0, {}, RUNNER, READABLE_HOME) == ep.Decision(uid=1001, gid=127)


def test_no_guild_home_yet_still_switches():
    assert ep.decide(0, {}, RUNNER, None) == ep.Decision(uid=1001, gid=127)


@pytest.mark.parametrize(
    ("euid", "workspace"),
    [
        (1001, RUNNER),  # started as a user already (docker run --user, rootless)
        (0, None),  # no workspace: not in a runner
        (0, ep.Owner(0, 0, 0o755)),  # a root-owned checkout (GitLab's docker executor)
    ],
)
def test_stays_as_started(euid, workspace):
    assert ep.decide(euid, {}, workspace, READABLE_HOME) == ep.Decision()


@pytest.mark.parametrize("value", ["true", "1", "TRUE", "yes"])
def test_promoter_as_root_keeps_root(value):
    assert ep.decide(0, {"PROMOTER_AS_ROOT": value}, RUNNER, None) == ep.Decision()


def test_promoter_as_root_false_is_the_default():
    assert ep.decide(0, {"PROMOTER_AS_ROOT": "false"}, RUNNER, None).uid == 1001


def test_an_unreadable_guild_home_keeps_root_and_says_why():
    private = [ep.Owner(0, 0, 0o700)]
    decision = ep.decide(0, {}, RUNNER, private)
    assert decision.uid is None
    assert decision.warning is not None
    assert "not readable by uid 1001" in decision.warning
    assert "PROMOTER_AS_ROOT" in decision.warning


def test_unreadable_runs_folder_keeps_root():
    home = [ep.Owner(1001, 127, 0o755), ep.Owner(0, 0, 0o711)]  # searchable, not listable
    assert ep.decide(0, {}, RUNNER, home).uid is None


@pytest.mark.parametrize(
    ("owner", "allowed"),
    [
        (ep.Owner(1001, 5, 0o700), True),  # the user's own
        (ep.Owner(1001, 5, 0o070), False),  # owner bits count for the owner, not group bits
        (ep.Owner(0, 127, 0o750), True),  # through the group
        (ep.Owner(0, 127, 0o710), False),  # group may search, not list
        (ep.Owner(0, 0, 0o755), True),  # through others
        (ep.Owner(0, 0, 0o751), False),
        (ep.Owner(0, 0, 0o754), False),  # readable, not searchable
    ],
)
def test_grants(owner, allowed):
    assert ep.grants(owner, 1001, 127) is allowed


def test_guild_home_path():
    cwd = "/github/workspace"
    assert ep.guild_home_path({"INPUT_GUILD-HOME": ".guild-home"}, cwd) == f"{cwd}/.guild-home"
    assert ep.guild_home_path({"INPUT_GUILD-HOME": "/g", "GUILD_HOME": "/x"}, cwd) == "/g"
    assert ep.guild_home_path({"GUILD_HOME": "/x"}, cwd) == "/x"
    assert ep.guild_home_path({"HOME": "/github/home"}, cwd) == "/github/home/.guild"


def test_workspace_path():
    assert ep.workspace_path({"GITHUB_WORKSPACE": "/w", "CI_PROJECT_DIR": "/b"}) == "/w"
    assert ep.workspace_path({"CI_PROJECT_DIR": "/builds/ml/x"}) == "/builds/ml/x"
    assert ep.workspace_path({"GITHUB_WORKSPACE": ""}) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_run_as_switches_user_and_hands_the_file_commands_back(tmp_path, monkeypatch):
    """The real switch: the child is uid 1001 with a home it owns and reads the event; what
    it writes to the file commands reaches the runner's root-owned files, appended."""
    runner_files = tmp_path / "runner"
    runner_files.mkdir(mode=0o700)  # only root may write here, as in act
    output = runner_files / "output"
    output.write_text("before=1\n")
    event = runner_files / "event.json"
    event.write_text('{"action": "created"}')
    event.chmod(0o600)
    env = {
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(runner_files / "summary"),
        "GITHUB_EVENT_PATH": str(event),
        "HOME": str(runner_files),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def fake_main(argv: list[str]) -> int:
        home = Path(os.environ["HOME"])
        facts = {
            "uid": os.getuid(),
            "euid": os.geteuid(),
            "gid": os.getgid(),
            "argv": " ".join(argv),
            "home-owned": int(home.stat().st_uid == os.getuid()),
            "event": Path(os.environ["GITHUB_EVENT_PATH"]).read_text(),
            "user": os.environ["USER"],
        }
        with open(os.environ["GITHUB_OUTPUT"], "a") as f:
            f.writelines(f"{k}={v}\n" for k, v in facts.items())
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write("## summary\n")
        return 7

    monkeypatch.setattr(ep, "main", fake_main)
    passwd = Path("/etc/passwd").read_bytes()
    group = Path("/etc/group").read_bytes()
    try:
        code = ep.run_as(54321, 54322, ["--flag"])
    finally:  # the test host's accounts stay as they were
        Path("/etc/passwd").write_bytes(passwd)
        Path("/etc/group").write_bytes(group)
    assert code == 7
    lines = output.read_text().splitlines()
    assert lines[0] == "before=1"
    facts = dict(line.split("=", 1) for line in lines[1:])
    assert facts == {
        "uid": "54321",
        "euid": "54321",
        "gid": "54322",
        "argv": "event --flag",
        "home-owned": "1",
        "event": '{"action": "created"}',
        "user": "promoter",
    }
    assert (runner_files / "summary").read_text() == "## summary\n"
    assert stat.S_IMODE(runner_files.stat().st_mode) == 0o700
    assert output.stat().st_uid == 0


def test_a_workspace_under_a_closed_directory_keeps_root_and_says_why():
    closed = ep.Owner(0, 0, 0o700)  # /root, say: a checkout under it is unreachable for 1001
    decision = ep.decide(0, {}, RUNNER, READABLE_HOME, [ep.Owner(0, 0, 0o755), closed])
    assert decision.uid is None
    assert decision.warning is not None and "cannot reach the workspace" in decision.warning
    open_above = [ep.Owner(0, 0, 0o755), ep.Owner(0, 0, 0o711)]
    assert ep.decide(0, {}, RUNNER, READABLE_HOME, open_above).uid == 1001
