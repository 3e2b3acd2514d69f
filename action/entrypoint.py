"""The container's entrypoint: ``promoter event`` with the runner's environment, run as the
owner of the workspace.

GitHub runs a docker action as root on a workspace that belongs to the runner's user (uid
1001 on hosted runners). What root writes there (git objects, ``.dvc/cache``, worktrees under
``.git/promoter/``) is root's, and on a self-hosted runner the next job's checkout cannot
clean it. So when started as root on a workspace someone else owns, a child process takes
that owner's uid and gid before promoter runs. The parent stays root only to hand the file
commands (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ...) back to the runner, whose files
those are, and to pass signals on. ``PROMOTER_AS_ROOT=true`` keeps root.

``decide`` is pure (tested in tests/test_entrypoint.py); the rest only applies its answer.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from promoter.cli import main

# The runner's files that a step appends to; the child writes copies, the parent appends them.
FILE_COMMANDS = (
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_STATE",
)
READ_SEARCH = stat.S_IRUSR | stat.S_IXUSR  # what the Guild home must grant (owner bits)


@dataclass(frozen=True)
class Owner:
    """The owner and mode of a path (from ``os.stat``)."""

    uid: int
    gid: int
    mode: int


@dataclass(frozen=True)
class Decision:
    """Whom promoter runs as: ``uid`` and ``gid``, or ``None`` to stay as started; ``warning``
    says why not, when the user should hear it."""

    uid: int | None = None
    gid: int | None = None
    warning: str | None = None


def workspace_path(env: Mapping[str, str]) -> str | None:
    """The checkout promoter writes into: GitHub's ``GITHUB_WORKSPACE``, else GitLab's
    ``CI_PROJECT_DIR``."""
    return env.get("GITHUB_WORKSPACE") or env.get("CI_PROJECT_DIR") or None


def guild_home_path(env: Mapping[str, str], cwd: str) -> str:
    """The Guild home as promoter will look for it, short of reading the config file: the
    ``guild-home`` input, else ``$GUILD_HOME``, else ``~/.guild``; relative to ``cwd``."""
    given = env.get("INPUT_GUILD-HOME") or env.get("GUILD_HOME")
    home = Path(given) if given else Path(env.get("HOME") or "/root") / ".guild"
    return str(Path(cwd) / home.expanduser())


def grants(owner: Owner, uid: int, gid: int, need: int = READ_SEARCH) -> bool:
    """Whether ``owner``'s mode bits give ``need`` (as owner bits) to ``uid``/``gid``."""
    if owner.uid == uid:
        bits = owner.mode
    elif owner.gid == gid:
        bits = owner.mode << 3
    else:
        bits = owner.mode << 6
    return bits & need == need


def decide(
    euid: int,
    env: Mapping[str, str],
    workspace: Owner | None,
    guild_home: list[Owner] | None,
    above: Sequence[Owner] = (),
) -> Decision:
    """Whom to run as: the workspace's owner when started as root on a workspace that is not
    root's. ``guild_home`` is the Guild home and its ``runs`` folder (``None``: not there);
    it must stay readable, and the directories ``above`` the workspace and the Guild home
    must let that user through, or promoter keeps root and says why."""
    if euid != 0 or workspace is None or workspace.uid == 0:
        return Decision()
    if env.get("PROMOTER_AS_ROOT", "").lower() in ("1", "true", "yes"):
        return Decision()
    uid, gid = workspace.uid, workspace.gid
    if not all(grants(folder, uid, gid, stat.S_IXUSR) for folder in above):
        return Decision(
            warning=(
                f"promoter runs as root: uid {uid}, the workspace's owner, cannot reach the "
                "workspace or the Guild home (a directory above them is closed to it)"
            )
        )
    for folder in guild_home or []:
        if not grants(folder, uid, gid):
            return Decision(
                warning=(
                    f"promoter runs as root: the Guild home is not readable by uid {uid}, "
                    "the workspace's owner, so files it writes there will be root's "
                    "(make the Guild home readable, or set PROMOTER_AS_ROOT=true to silence this)"
                )
            )
    return Decision(uid=uid, gid=gid)


def _owner(path: str | Path) -> Owner | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return Owner(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def _above(*paths: str) -> list[Owner]:
    """The directories above ``paths`` (their parents up to ``/``), each once."""
    folders = {str(parent) for path in paths for parent in Path(path).parents}
    return [o for o in (_owner(f) for f in sorted(folders)) if o is not None]


def _guild_home(env: Mapping[str, str]) -> list[Owner] | None:
    home = Path(guild_home_path(env, str(Path.cwd())))
    found = [o for o in (_owner(home), _owner(home / "runs")) if o is not None]
    return found or None


def _ensure_account(uid: int, gid: int, home: str) -> str:
    """A passwd (and group) entry for ``uid``: ssh and ``getpass`` refuse a user without one.
    The container's own ``/etc/passwd``, so nothing outside changes."""
    import grp
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        pass
    try:
        grp.getgrgid(gid)
    except KeyError:
        with Path("/etc/group").open("a") as f:
            f.write(f"promoter:x:{gid}:\n")
    with Path("/etc/passwd").open("a") as f:
        f.write(f"promoter:x:{uid}:{gid}:promoter:{home}:/bin/sh\n")
    return "promoter"


def _child_home(env: Mapping[str, str], uid: int, scratch: Path) -> str:
    """``$HOME`` when ``uid`` owns it (GitHub's ``/github/home`` is the runner's), else a
    fresh one: promoter's run cache, git's and DVC's config live there."""
    home = env.get("HOME")
    if home:
        owner = _owner(home)
        if owner is not None and owner.uid == uid:
            return home
    fresh = scratch / "home"
    fresh.mkdir(mode=0o700)
    return str(fresh)


def run_as(uid: int, gid: int, argv: list[str]) -> int:
    """``promoter event`` in a child that is ``uid``/``gid``; the runner's file commands are
    written to copies the child owns and appended to the real files here, as root."""
    scratch = Path(tempfile.mkdtemp(prefix="promoter-"))
    env = dict(os.environ)
    copies: dict[str, Path] = {}
    for name in FILE_COMMANDS:
        if env.get(name):
            copies[name] = scratch / name.lower()
            copies[name].touch()
            env[name] = str(copies[name])
    event = env.get("GITHUB_EVENT_PATH")
    if event and Path(event).is_file():  # the runner's, maybe root's and 0600
        env["GITHUB_EVENT_PATH"] = str(shutil.copy(event, scratch / "event.json"))
    home = _child_home(env, uid, scratch)
    env["HOME"] = home
    env["USER"] = env["LOGNAME"] = _ensure_account(uid, gid, home)
    for path in (scratch, *scratch.rglob("*")):
        os.chown(path, uid, gid)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = 3
        try:
            try:
                os.setgroups([gid])
                os.setgid(gid)
                os.setuid(uid)
                os.environ.clear()
                os.environ.update(env)
            except PermissionError as e:  # a container without CAP_SETUID/CAP_SETGID
                print(f"::warning title=promoter::promoter runs as root: uid {uid}: {e}")
            status = main(["event", *argv])
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: os.kill(pid, signum))
    while True:
        try:
            _, wait_status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(wait_status)
    for name, copy in copies.items():
        with copy.open("rb") as src, Path(os.environ[name]).open("ab") as dst:
            shutil.copyfileobj(src, dst)
    shutil.rmtree(scratch, ignore_errors=True)
    return code if code >= 0 else 128 - code


def entrypoint(argv: list[str]) -> int:
    """Run ``promoter event`` as ``decide`` says."""
    workspace = workspace_path(os.environ)
    owner = _owner(workspace) if workspace else None
    guild_home = guild_home_path(os.environ, str(Path.cwd()))
    above = _above(workspace, guild_home) if workspace and owner else []
    decision = decide(
        os.geteuid(), os.environ, owner, _guild_home(os.environ) if owner else None, above
    )
    if decision.warning:
        print(f"::warning title=promoter::{decision.warning}", flush=True)
    if decision.uid is None or decision.gid is None:
        return main(["event", *argv])
    if os.environ.get("RUNNER_DEBUG") == "1":
        print(f"::debug::promoter runs as uid {decision.uid}, the owner of {workspace}")
    return run_as(decision.uid, decision.gid, argv)


if __name__ == "__main__":
    sys.exit(entrypoint(sys.argv[1:]))
