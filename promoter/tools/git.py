"""The git command line, one method per verb.

Every call is ``git`` with an argument list (never a shell), with ``--literal-pathspecs`` so a
file named ``*.txt`` or ``:(glob)x`` means itself, and ``--end-of-options`` before refs and
remotes that come from config or the user. Needs git 2.25 or newer.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from promoter.errors import PromoterError, ToolError

DEFAULT_NAME = "promoter"
DEFAULT_EMAIL = "promoter@users.noreply.localhost"

# Set by git hooks and `git rebase -x`; inherited, they would point every call at another repo.
_REPO_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
)
_GLOBAL_OPTIONS = ("-c", "core.quotepath=off")
# check-ignore refuses pathspec magic, even `literal`; it matches the path as given anyway.
_NO_PATHSPECS = frozenset({"check-ignore"})
_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_UNSAFE_REF_CHARS = re.compile(r"[^a-z0-9._-]+")
_MAX_COMPONENT = 100


class GitError(ToolError):
    """A git command that exited non-zero."""

    @staticmethod
    def shown(command: Sequence[str]) -> str:
        """The command as a user would type it, capped in length."""
        return _display(command)

    @staticmethod
    def reason(output: str) -> str:
        """The line of the output that says what went wrong."""
        return _meaningful_line(output)


@dataclass(frozen=True)
class CommitInfo:
    """One commit as ``git log`` reports it; ``trailers`` keeps the last value of each key."""

    sha: str
    author_name: str
    author_email: str
    subject: str
    trailers: dict[str, str]
    parents: tuple[str, ...] = ()
    tree: str = ""


class Git:
    """The repository (or worktree) at ``cwd``; ``env`` is laid over the inherited environment."""

    def __init__(self, cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self._given_env = dict(env or {})
        self.cwd = cwd
        base = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
        # A push or fetch that wants credentials must fail, not wait for a prompt nobody sees.
        base.setdefault("GIT_TERMINAL_PROMPT", "0")
        # Nor wait for a server that stopped answering: under 1 KB/s for a minute, git over
        # HTTP gives up (these variables win over git config; the caller's own win over ours).
        base.setdefault("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
        base.setdefault("GIT_HTTP_LOW_SPEED_TIME", "60")
        self._env = {**base, **(env or {})}
        self._identity: dict[str, str] | None = None

    def authenticated(self, server_url: str, username: str, token: str) -> Git:
        """This repository, with network commands to ``server_url`` authenticated by
        ``username``/``token``.

        The header goes to git through ``GIT_CONFIG_COUNT`` variables: not in ``.git/config``,
        not on the command line (``ps`` shows it), not in any message promoter logs. An empty
        value first resets the headers configured for that URL (``actions/checkout`` stores
        its own token as one), so only this token is sent, and only to that server.
        """
        key = f"http.{server_url.rstrip('/')}/.extraheader"
        basic = base64.b64encode(f"{username}:{token}".encode()).decode()
        extra = {
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": key,
            "GIT_CONFIG_VALUE_0": "",
            "GIT_CONFIG_KEY_1": key,
            "GIT_CONFIG_VALUE_1": f"Authorization: Basic {basic}",
        }
        return Git(self.cwd, {**self._given_env, **extra})

    def toplevel(self) -> Path:
        """The root of the working tree that holds ``cwd``."""
        done = self._run("rev-parse", "--show-toplevel", check=False)
        if done.returncode != 0:
            raise PromoterError(f"{self.cwd} is not inside a git repository")
        return Path(done.stdout.rstrip("\n"))

    def git_common_dir(self) -> Path:
        """The ``.git`` directory shared by every worktree of the repository, absolute."""
        out = self._run("rev-parse", "--git-common-dir").stdout.rstrip("\n")
        return (self.cwd / out).resolve()

    def head(self) -> str:
        """The sha of ``HEAD``."""
        return self._run("rev-parse", "--verify", "HEAD").stdout.strip()

    def rev_parse(self, ref: str) -> str | None:
        """The commit ``ref`` names, or ``None`` when it names none."""
        done = self._run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        return done.stdout.strip() if done.returncode == 0 else None

    def status(self, paths: Sequence[str] | None = None) -> dict[str, str]:
        """Changed and untracked files (not ignored ones) as path -> porcelain ``XY`` code.

        A rename or copy is keyed by its new path.
        """
        args = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
        if paths is not None:
            if not paths:
                return {}
            args += ["--", *paths]
        fields = self._run(*args).stdout.split("\0")
        result: dict[str, str] = {}
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if len(entry) < 4:
                continue
            code = entry[:2]
            result[entry[3:]] = code
            if "R" in code or "C" in code:
                i += 1
        return result

    def ignored(self, paths: Sequence[str]) -> set[str]:
        """The ``paths`` that ``.gitignore`` rules (or ``info/exclude``) ignore: one git call,
        paths on stdin."""
        if not paths:
            return set()
        # "./" first: check-ignore reads a leading ":(" as pathspec magic, even on stdin.
        stdin = "".join(f"./{p}\0" for p in paths)
        done = self._run("check-ignore", "-z", "--stdin", check=False, input=stdin)
        if done.returncode > 1:
            raise self._error(done)
        return {p.removeprefix("./") for p in done.stdout.split("\0") if p}

    def is_tracked(self, path: str) -> bool:
        """Whether the index holds ``path`` (or, for a directory, a file under it)."""
        done = self._run("ls-files", "--error-unmatch", "--", path, check=False)
        return done.returncode == 0

    def fetch(self, remote: str, refspecs: Sequence[str]) -> None:
        """Fetch ``refspecs`` from ``remote``."""
        self._run("fetch", "--quiet", "--no-tags", "--end-of-options", remote, *refspecs)

    def remote_branch_sha(self, remote: str, branch: str) -> str | None:
        """The sha of ``branch`` on ``remote`` as the remote reports it now; ``None`` if absent."""
        ref = f"refs/heads/{branch}"
        out = self._run("ls-remote", "--heads", "--end-of-options", remote, ref).stdout
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    def worktree_add(self, path: Path, ref: str) -> None:
        """Check ``ref`` out, detached, in a new worktree at ``path``."""
        # A worktree whose directory was deleted stays registered and blocks its path until pruned.
        self._run("worktree", "prune")
        self._run("worktree", "add", "--detach", "--quiet", "--end-of-options", str(path), ref)

    def worktree_remove(self, path: Path) -> None:
        """Remove the worktree at ``path`` with any changes in it; no error if it is gone."""
        done = self._run(
            "worktree", "remove", "--force", "--end-of-options", str(path), check=False
        )
        self._run("worktree", "prune")
        if done.returncode != 0 and path.exists():
            raise self._error(done)

    def add(self, paths: Sequence[str]) -> None:
        """Stage ``paths``."""
        if paths:
            self._run_pathspecs(["add"], paths)

    def rm_cached(self, paths: Sequence[str]) -> None:
        """Stop tracking ``paths`` (directories recursively), leaving the files on disk."""
        if paths:
            self._run_pathspecs(["rm", "--cached", "-r", "--quiet"], paths)

    def commit(self, message: str, trailers: Mapping[str, str]) -> str:
        """Commit the index with ``message`` and ``Key: value`` trailers; returns the new sha."""
        if not message.strip():
            raise ValueError("a commit message must not be empty")
        text = message.rstrip() + "\n"
        if trailers:
            text += "\n" + "".join(f"{k}: {_trailer_value(k, v)}\n" for k, v in trailers.items())
        # --cleanup=whitespace: the default would drop a subject line such as "#42 retrain".
        self._run("commit", "--quiet", "--cleanup=whitespace", "-F", "-", input=text, identity=True)
        return self.head()

    def push(
        self, remote: str, branch: str, expected_sha: str | None = None, force: bool = False
    ) -> None:
        """Push ``HEAD`` to ``branch`` on ``remote``.

        With ``force`` the push replaces the branch only if it is still at ``expected_sha``
        (``None``: only if it does not exist); without, only a fast-forward is accepted.
        """
        args = ["push", "--quiet"]
        if force:
            args.append(f"--force-with-lease=refs/heads/{branch}:{expected_sha or ''}")
        self._run(*args, "--end-of-options", remote, f"HEAD:refs/heads/{branch}")

    def commits_between(self, base: str, head: str) -> list[CommitInfo]:
        """Commits reachable from ``head`` but not from ``base``, newest first."""
        fields = "%x00".join(("%H", "%an", "%ae", "%s", "%(trailers:unfold,only)", "%P", "%T"))
        out = self._run(
            "log", "-z", f"--format={fields}", "--end-of-options", f"{base}..{head}"
        ).stdout
        parts = out.split("\0")
        commits: list[CommitInfo] = []
        for i in range(0, len(parts) - 6, 7):
            sha, name, email, subject, trailers, parents, tree = parts[i : i + 7]
            commits.append(
                CommitInfo(
                    sha.strip(),
                    name,
                    email,
                    subject,
                    _parse_trailers(trailers),
                    tuple(parents.split()),
                    tree.strip(),
                )
            )
        return commits

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is reachable from ``descendant``."""
        done = self._run(
            "merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant, check=False
        )
        return done.returncode == 0

    def merged_tree(self, ours: str, theirs: str) -> str | None:
        """The tree git's own merge of two commits gives, or ``None`` when it conflicts
        (git 2.38+: ask :meth:`can_merge_trees` first)."""
        tree, conflicts = self.merge_trees(ours, theirs)
        return None if conflicts else tree

    def remote_url(self, remote: str) -> str:
        """The URL ``remote`` fetches from, as configured."""
        return self._run("remote", "get-url", "--end-of-options", remote).stdout.strip()

    def with_index(self, index: Path) -> Git:
        """This repository with its own index file: trees built there leave the checkout's
        index, and files, as they are."""
        return Git(self.cwd, {**self._given_env, "GIT_INDEX_FILE": str(index)})

    def hash_objects(self, files: Sequence[Path]) -> list[str]:
        """Store files as blobs; returns their ids in order (one git process for all)."""
        if not files:
            return []
        stdin = "".join(f"{f}\n" for f in files)
        return self._run("hash-object", "-w", "--stdin-paths", input=stdin).stdout.split()

    def read_tree(self, tree: str) -> None:
        """Make the index hold ``tree``."""
        self._run("read-tree", "--end-of-options", tree)

    def set_index_entries(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Set index entries ``(mode, blob, path)``; mode ``"0"`` removes the path."""
        if entries:
            lines = "".join(
                f"{mode} {blob if mode != '0' else '0' * 40}\t{path}\0"
                for mode, blob, path in entries
            )
            self._run("update-index", "-z", "--index-info", input=lines)

    def write_tree(self) -> str:
        """The tree the index holds, written to the object store."""
        return self._run("write-tree").stdout.strip()

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        """A commit of ``tree`` with ``parents``, on no branch, by promoter itself (such a
        commit is an intermediate of the merge: it is never pushed)."""
        args = [arg for parent in parents for arg in ("-p", parent)]
        env = {
            f"GIT_{role}_{key}": value
            for role in ("AUTHOR", "COMMITTER")
            for key, value in (("NAME", DEFAULT_NAME), ("EMAIL", DEFAULT_EMAIL))
        }
        done = Git(self.cwd, {**self._given_env, **env})._run(
            "commit-tree", *args, "-F", "-", tree, input=message
        )
        return done.stdout.strip()

    def merge_trees(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        """Git's own three-way merge of two commits, touching no checkout (git 2.38+):
        the merged tree (conflicted files hold conflict markers) and the conflicted paths."""
        done = self._run(
            "merge-tree", "--write-tree", "-z", "--name-only", "--no-messages",
            "--end-of-options", ours, theirs, check=False,
        )  # fmt: skip
        if done.returncode not in (0, 1):
            raise self._error(done)
        tree, *rest = done.stdout.split("\0")
        conflicts = list(dict.fromkeys(p for p in rest if p))
        return tree.strip(), conflicts

    def tree_entries(self, tree: str, paths: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``path -> (mode, blob)`` of the files of ``tree`` at ``paths`` (absent: missing;
        no paths: every file of the tree)."""
        out = self._run("ls-tree", "-r", "-z", "--end-of-options", tree, "--", *paths).stdout
        entries: dict[str, tuple[str, str]] = {}
        for record in out.split("\0"):
            if "\t" in record:
                info, path = record.split("\t", 1)
                mode, _, blob = info.split()
                entries[path] = (mode, blob)
        return entries

    def changed_paths(self, old: str, new: str) -> list[tuple[str, str]]:
        """``(status, path)`` of every file that differs between two trees or commits;
        status A, M or D (renames are a delete and an add)."""
        out = self._run(
            "diff-tree", "-r", "-z", "--no-renames", "--name-status", "--end-of-options", old, new
        ).stdout
        fields = [f for f in out.split("\0") if f]
        return list(zip(fields[0::2], fields[1::2], strict=True))

    def switch_tree(self, tree: str) -> None:
        """Make the index and the files of this (clean) checkout those of ``tree``."""
        self._run("read-tree", "-m", "-u", "--end-of-options", "HEAD", tree)

    def can_merge_trees(self) -> bool:
        """Whether this git has ``merge-tree --write-tree`` (2.38 and newer)."""
        return _git_version() >= (2, 38)

    def has_commit(self, sha: str) -> bool:
        """Whether this repository holds the commit ``sha``."""
        return self.rev_parse(sha) is not None

    def show_file(self, ref: str, path: str) -> bytes | None:
        """The bytes of ``path`` (from the repository root) at ``ref``; ``None`` if absent."""
        # cat-file blob, not show: show prints a directory's listing, and exits 0.
        done = self._invoke(["cat-file", "blob", "--end-of-options", f"{ref}:{path}"], None)
        return done.stdout if done.returncode == 0 else None

    def check_branch_name(self, name: str) -> bool:
        """Whether git accepts ``name`` as a new branch name."""
        if "@{" in name:
            return False
        return self._run("check-ref-format", "--branch", name, check=False).returncode == 0

    def default_remote(self) -> str | None:
        """The only remote, or ``origin`` when there are several; ``None`` when there is none."""
        names = self._run("remote").stdout.split()
        if len(names) == 1:
            return names[0]
        return "origin" if "origin" in names else None

    # Tags and history, for registrations (promoter.registry).

    def is_shallow(self) -> bool:
        """Whether this clone is shallow (``actions/checkout``'s default depth of 1)."""
        done = self._run("rev-parse", "--is-shallow-repository", check=False)
        return done.stdout.strip() == "true"

    def unshallow(self, remote: str) -> None:
        """Fetch the history a shallow clone lacks."""
        self._run("fetch", "--quiet", "--no-tags", "--unshallow", "--end-of-options", remote)

    def first_parent_changes(self, ref: str, path: str) -> list[tuple[str, str, str]]:
        """``(sha, committer date ISO, message)`` of each commit on ``ref``'s first-parent
        line that changed ``path`` against its first parent, newest first: on a base branch,
        the merges (or squashes) that brought the change."""
        out = self._run(
            "log", "-z", "--first-parent", "--format=%H%x00%cI%x00%B",
            "--end-of-options", ref, "--", path,
        ).stdout  # fmt: skip
        parts = out.split("\0")
        return [(parts[i].strip(), parts[i + 1], parts[i + 2]) for i in range(0, len(parts) - 2, 3)]

    def commit_message(self, sha: str) -> str:
        """The whole message of a commit."""
        return self._run("log", "-1", "--format=%B", "--end-of-options", sha).stdout

    def tags(self, remote: str | None = None) -> list[tuple[str, str, str | None]]:
        """``(name, object, commit it peels to or None for a lightweight tag)`` of every tag,
        of ``remote`` as it is now (``ls-remote``), or of this repository."""
        if remote is None:
            fmt = "%(refname)%00%(objectname)%00%(*objectname)"
            out = self._run("for-each-ref", f"--format={fmt}", "refs/tags/").stdout
            rows = [line.split("\0") for line in out.splitlines() if line]
            return [(r[0].removeprefix("refs/tags/"), r[1], r[2] or None) for r in rows]
        out = self._run("ls-remote", "--tags", "--end-of-options", remote).stdout
        objects: dict[str, str] = {}
        peeled: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            name = ref.removeprefix("refs/tags/")
            if name.endswith("^{}"):
                peeled[name[:-3]] = sha
            elif ref.startswith("refs/tags/"):
                objects[name] = sha
        return [(name, sha, peeled.get(name)) for name, sha in objects.items()]

    def make_tag(self, name: str, target: str, message: str) -> str:
        """An annotated tag object named ``name`` on the commit ``target``, stored but on no
        ref (so no local tag of the same name is touched); returns its id."""
        ident = self._run("var", "GIT_COMMITTER_IDENT", identity=True).stdout.strip()
        text = f"object {target}\ntype commit\ntag {name}\ntagger {ident}\n\n{message.rstrip()}\n"
        return self._run("mktag", input=text).stdout.strip()

    def push_new_ref(self, remote: str, source: str, ref: str) -> None:
        """Push the object ``source`` to ``ref`` on ``remote`` only if ``ref`` does not exist
        there yet: an existing tag is never moved, whoever made it."""
        self._run(
            "push", "--quiet", f"--force-with-lease={ref}:", "--end-of-options", remote,
            f"{source}:{ref}",
        )  # fmt: skip

    def create_ref(self, ref: str, sha: str) -> bool:
        """Make ``ref`` point at ``sha`` if it does not exist; False when it already does."""
        done = self._run("update-ref", "--end-of-options", ref, sha, "", check=False)
        return done.returncode == 0

    def _run(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        identity: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        done = self._invoke(
            list(args), input.encode() if input is not None else None, identity=identity
        )
        result = subprocess.CompletedProcess(
            done.args,
            done.returncode,
            done.stdout.decode(errors="surrogateescape"),
            done.stderr.decode(errors="replace"),
        )
        if check and result.returncode != 0:
            raise self._error(result)
        return result

    def _invoke(
        self, args: list[str], input: bytes | None, identity: bool = False
    ) -> subprocess.CompletedProcess[bytes]:
        env = {**self._env, **self._default_identity()} if identity else self._env
        try:
            literal = [] if args[0] in _NO_PATHSPECS else ["--literal-pathspecs"]
            return subprocess.run(
                ["git", *_GLOBAL_OPTIONS, *literal, *args],
                cwd=self.cwd,
                env=env,
                input=input,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError as e:
            if shutil.which("git", path=env.get("PATH")) is None:
                raise PromoterError("git is not installed (or not on PATH)") from e
            raise PromoterError(f"{self.cwd}: no such directory") from e

    def _run_pathspecs(self, args: list[str], paths: Sequence[str]) -> None:
        # Paths go through stdin: no argv length limit, and none can be taken for an option.
        stdin = "".join(f"{p}\0" for p in paths)
        self._run(*args, "--pathspec-from-file=-", "--pathspec-file-nul", input=stdin)

    def _default_identity(self) -> dict[str, str]:
        """Author and committer defaults for the parts of the identity config leaves unset."""
        if self._identity is None:
            done = self._run("config", "--get-regexp", r"^user\.(name|email)$", check=False)
            configured = {line.split(" ", 1)[0] for line in done.stdout.splitlines()}
            self._identity = {}
            for key, var, value in (
                ("user.name", "NAME", DEFAULT_NAME),
                ("user.email", "EMAIL", DEFAULT_EMAIL),
            ):
                if key not in configured:
                    for role in ("AUTHOR", "COMMITTER"):
                        if f"GIT_{role}_{var}" not in self._env:
                            self._identity[f"GIT_{role}_{var}"] = value
        return self._identity

    def _error(self, done: subprocess.CompletedProcess[str]) -> GitError:
        return GitError(done.args, done.returncode, done.stdout, done.stderr)


def path_prefix(top: Path, path: Path) -> str:
    """``path`` inside the working tree ``top`` as a prefix for repository paths: ``""`` at the
    top, else ``"sub/dir/"``."""
    rel = path.resolve().relative_to(top.resolve()).as_posix()
    return "" if rel == "." else rel + "/"


def valid_branch_component(text: str) -> str:
    """``text`` as one safe, lowercase component of a branch name (``op`` if nothing is left).

    Lowercase because refs that differ only in case collide on case-insensitive file systems.
    """
    name = _UNSAFE_REF_CHARS.sub("-", text.lower())
    name = re.sub(r"-{2,}", "-", re.sub(r"\.{2,}", ".", name))
    name = name[:_MAX_COMPONENT]
    while True:
        trimmed = name.lstrip(".-").rstrip(".-").removesuffix(".lock")
        if trimmed == name:
            break
        name = trimmed
    return name or "op"


def _trailer_value(key: str, value: str) -> str:
    if not _TRAILER_KEY.match(key):
        raise ValueError(f"invalid trailer key {key!r}: use letters, digits and '-'")
    if "\n" in value or "\r" in value:
        raise ValueError(f"trailer {key} spans several lines")
    return value


def _parse_trailers(text: str) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            trailers[key.strip()] = value.strip()
    return trailers


def _meaningful_line(output: str) -> str:
    """The line of git's output that says what went wrong: a rejected ref, else the first
    ``fatal:`` or ``error:`` line (later ones and hints only elaborate), else the last line."""
    lines = [" ".join(line.split()) for line in output.splitlines() if not line.startswith("hint:")]
    lines = [line for line in lines if line]
    for wanted in (("!",), ("fatal:", "error:")):
        found = [line for line in lines if line.startswith(wanted)]
        if found:
            return found[0]
    return lines[-1] if lines else ""


def _display(command: Sequence[str]) -> str:
    """The command as a user would type it, without promoter's own options, capped in length."""
    args = list(command[1:])
    for option in (*_GLOBAL_OPTIONS, "--literal-pathspecs"):
        if args and args[0] == option:
            args.pop(0)
    args = [command[0], *(a for a in args if a != "--end-of-options")]
    shown = shlex.join(args[:8])
    return shown + " ..." if len(args) > 8 else shown


def is_relative_path(url: str) -> bool:
    """Whether a remote URL is a relative local path (``../remote.git``), which git reads
    relative to wherever it runs: a scratch worktree would read another place."""
    return "://" not in url and not url.startswith(("/", "~")) and ":" not in url.split("/")[0]


@functools.cache
def _git_version() -> tuple[int, ...]:
    """The installed git's version, as numbers (``(0,)`` when it cannot be told)."""
    try:
        out = subprocess.run(["git", "version"], capture_output=True, text=True, check=False)
    except OSError:
        return (0,)
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out.stdout)
    return tuple(int(n) for n in found.groups() if n is not None) if found else (0,)
