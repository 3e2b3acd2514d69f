"""The git adapter against real repositories and a bare remote in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from promoter.errors import PromoterError
from promoter.tools.git import DEFAULT_EMAIL, DEFAULT_NAME, Git, GitError, valid_branch_component
from tests.repos import IDENTITY, commit_all, git, make_repo_with_bare_remote

# No global or system config: what the tests see does not depend on the machine.
ISOLATED = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    return make_repo_with_bare_remote(tmp_path)


def _git(path: Path, ceiling: Path | None = None) -> Git:
    """A Git that cannot find a repository above ``ceiling`` (default: ``path``'s parent)."""
    return Git(path, env={**ISOLATED, "GIT_CEILING_DIRECTORIES": str(ceiling or path.parent)})


def current_branch(path: Path) -> str | None:
    """The checked-out branch, read with plain git (None when HEAD is detached)."""
    name = git(path, "rev-parse", "--abbrev-ref", "HEAD").strip()
    return None if name == "HEAD" else name


def has_staged_changes(path: Path) -> bool:
    """Whether the index differs from HEAD, read with plain git."""
    return (
        subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=path, check=False).returncode
        == 1
    )


def test_toplevel_common_dir_head_and_branch(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, _ = repo
    (work / "sub").mkdir()
    g = _git(work / "sub", ceiling=tmp_path)
    assert g.toplevel() == work.resolve()
    assert g.git_common_dir() == (work / ".git").resolve()
    sha = git(work, "rev-parse", "HEAD").strip()
    assert g.head() == sha
    assert current_branch(work) == "main"
    assert g.rev_parse("main") == sha
    assert g.rev_parse("no-such-branch") is None
    assert g.rev_parse("--output=x") is None
    git(work, "checkout", "--quiet", "--detach")
    assert current_branch(work) is None

    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(PromoterError, match="is not inside a git repository"):
        _git(plain).toplevel()


def test_status_codes_with_spaces_unicode_and_literal_paths(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    (work / ".gitignore").write_text("*.log\n")
    (work / "old name.txt").write_text("moved\n")
    (work / "tracked.txt").write_text("tracked\n")
    commit_all(work, "files")
    (work / "README.md").write_text("changed\n")
    (work / "new file.txt").write_text("new\n")
    (work / "données").mkdir()
    (work / "données" / "ü ñ.txt").write_text("unicode\n")
    (work / "*.txt").write_text("a star\n")
    (work / "x.log").write_text("ignored\n")
    (work / "staged.txt").write_text("staged\n")
    git(work, "add", "staged.txt")
    git(work, "mv", "old name.txt", "new näme.txt")
    (work / "tracked.txt").unlink()

    g = _git(work)
    assert g.status() == {
        "README.md": " M",
        "new file.txt": "??",
        "données/ü ñ.txt": "??",
        "*.txt": "??",
        "staged.txt": "A ",
        "new näme.txt": "R ",
        "tracked.txt": " D",
    }
    assert g.status(["*.txt"]) == {"*.txt": "??"}
    assert g.status(["données"]) == {"données/ü ñ.txt": "??"}
    assert g.status([]) == {}
    assert g.ignored(["x.log", "new file.txt"]) == {"x.log"}
    assert g.ignored([]) == set()
    assert g.is_tracked("README.md")
    assert not g.is_tracked("new file.txt")
    assert not g.is_tracked("*.md")


def test_commit_with_trailers_reads_back(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    g = _git(work)
    base = g.head()
    names = ["-dash.txt", "with space.txt", "ünï.txt"]
    for name in names:
        (work / name).write_text(name)
    assert not has_staged_changes(work)
    g.add(names)
    assert has_staged_changes(work)
    assert g.status() == dict.fromkeys(names, "A ")

    subject = '#42 retrain: "quotes" | pipes \x1f and; $(not run)'
    trailers = {"Promoter-Run": "0123abcd", "Promoter-Metric": "val_acc=0.93"}
    sha = g.commit(f"{subject}\n\nA body line.\nKey-Like: in the body\n\nMore body.", trailers)
    assert sha == g.head() == git(work, "rev-parse", "HEAD").strip()
    assert not has_staged_changes(work)
    assert git(work, "log", "-1", "--format=%(trailers:key=Promoter-Run,valueonly)").strip() == (
        "0123abcd"
    )

    (work / "second.txt").write_text("2")
    g.add(["second.txt"])
    second = g.commit("Second", {"Promoter-Run": "ffff"})

    commits = g.commits_between(base, "HEAD")
    assert [c.sha for c in commits] == [second, sha]
    assert commits[1].subject == subject
    assert commits[1].trailers == trailers
    assert commits[1].author_name == IDENTITY["user.name"]
    assert commits[1].author_email == IDENTITY["user.email"]
    assert commits[0].trailers == {"Promoter-Run": "ffff"}
    assert g.commits_between("HEAD", "HEAD") == []

    g.rm_cached(["-dash.txt"])
    assert not g.is_tracked("-dash.txt")
    assert (work / "-dash.txt").exists()


def test_commit_rejects_bad_trailers_and_empty_messages(repo: tuple[Path, Path]) -> None:
    g = _git(repo[0])
    with pytest.raises(ValueError, match="invalid trailer key"):
        g.commit("msg", {"Bad Key": "v"})
    with pytest.raises(ValueError, match="several lines"):
        g.commit("msg", {"Key": "a\nInjected: yes"})
    with pytest.raises(ValueError, match="empty"):
        g.commit("  \n", {})
    with pytest.raises(GitError, match=r"^git commit .* failed \(exit 1\): nothing to commit"):
        g.commit("msg", {})


def test_commit_without_configured_identity_uses_defaults(tmp_path: Path) -> None:
    work = tmp_path / "noid"
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(work))
    (work / "f").write_text("f")
    g = _git(work)
    g.add(["f"])
    g.commit("first", {})
    assert git(work, "log", "-1", "--format=%an|%ae|%cn|%ce").strip() == (
        f"{DEFAULT_NAME}|{DEFAULT_EMAIL}|{DEFAULT_NAME}|{DEFAULT_EMAIL}"
    )

    git(work, "config", "user.name", "Configured Name")
    (work / "f").write_text("g")
    g = _git(work)
    g.add(["f"])
    g.commit("second", {})
    assert git(work, "log", "-1", "--format=%an|%ae").strip() == f"Configured Name|{DEFAULT_EMAIL}"


def test_push_fetch_and_force_with_lease(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, bare = repo
    g = _git(work)
    branch = "promoter/train-0123abcd"
    git(work, "switch", "--quiet", "-C", branch)
    assert current_branch(work) == branch
    (work / "model.txt").write_text("v1")
    g.add(["model.txt"])
    first = g.commit("v1", {})
    assert g.remote_branch_sha("origin", branch) is None
    g.push("origin", branch)
    assert g.remote_branch_sha("origin", branch) == first
    assert g.remote_branch_sha("origin", "train-0123abcd") is None

    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", "--branch", branch, str(bare), str(other))
    for key, value in IDENTITY.items():
        git(other, "config", key, value)
    (other / "model.txt").write_text("someone else")
    theirs = commit_all(other, "their change")
    git(other, "push", "--quiet", "origin", branch)

    (work / "model.txt").write_text("v2")
    g.add(["model.txt"])
    g.commit("v2", {})
    with pytest.raises(GitError) as rejected:
        g.push("origin", branch)
    assert "[rejected]" in str(rejected.value)
    with pytest.raises(GitError) as stale:
        g.push("origin", branch, expected_sha=first, force=True)
    assert stale.value.returncode == 1
    assert "stale info" in str(stale.value)
    assert str(stale.value).startswith(
        f"git push --quiet --force-with-lease=refs/heads/{branch}:{first} "
    )
    with pytest.raises(GitError, match="stale info"):
        g.push("origin", branch, expected_sha=None, force=True)
    assert g.remote_branch_sha("origin", branch) == theirs

    g.push("origin", branch, expected_sha=theirs, force=True)
    assert g.remote_branch_sha("origin", branch) == g.head()

    g.fetch("origin", [f"refs/heads/{branch}:refs/remotes/origin/{branch}"])
    assert g.rev_parse(f"origin/{branch}") == g.head()


def test_default_remote(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, bare = repo
    g = _git(work)
    assert g.default_remote() == "origin"
    git(work, "remote", "add", "upstream", str(bare))
    assert g.default_remote() == "origin"
    git(work, "remote", "rename", "origin", "mine")
    assert g.default_remote() is None
    git(work, "remote", "remove", "upstream")
    assert g.default_remote() == "mine"
    git(work, "remote", "remove", "mine")
    assert g.default_remote() is None


def test_worktree_add_switch_and_remove(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, _ = repo
    g = _git(work)
    wt = tmp_path / "wt dir ü"
    g.worktree_add(wt, "main")
    w = _git(wt)
    assert w.toplevel() == wt.resolve()
    assert w.git_common_dir() == (work / ".git").resolve()
    assert w.head() == g.head()
    assert current_branch(wt) is None
    git(wt, "switch", "--quiet", "-C", "promoter/x")
    assert current_branch(wt) == "promoter/x"
    assert current_branch(work) == "main"
    (wt / "scratch.txt").write_text("uncommitted")

    g.worktree_remove(wt)
    assert not wt.exists()
    assert str(wt) not in git(work, "worktree", "list", "--porcelain")
    g.worktree_remove(wt)

    g.worktree_add(wt, "main")
    shutil.rmtree(wt)
    g.worktree_add(wt, "main")
    assert _git(wt).head() == g.head()

    not_a_worktree = tmp_path / "plain dir"
    not_a_worktree.mkdir()
    with pytest.raises(GitError, match="is not a working tree"):
        g.worktree_remove(not_a_worktree)


def test_show_file(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    blob = b"\x00\xff binary \n\r\n not utf-8 \xc3"
    (work / "dir ü").mkdir()
    (work / "dir ü" / "weights.bin").write_bytes(blob)
    sha = commit_all(work, "binary")
    g = _git(work)
    assert g.show_file("HEAD", "dir ü/weights.bin") == blob
    assert g.show_file(sha, "README.md") == b"# demo\n"
    assert g.show_file("HEAD~1", "dir ü/weights.bin") is None
    assert g.show_file("HEAD", "absent.txt") is None
    assert g.show_file("no-such-ref", "README.md") is None
    assert g.show_file("HEAD", "dir ü") is None


def test_git_error_carries_command_and_a_readable_message(repo: tuple[Path, Path]) -> None:
    g = _git(repo[0])
    with pytest.raises(GitError) as caught:
        g.fetch("no-such-remote", ["main"])
    error = caught.value
    assert error.returncode == 128
    assert error.command[0] == "git"
    assert "fetch" in error.command
    assert "no-such-remote" in error.stderr
    assert str(error) == (
        "git fetch --quiet --no-tags no-such-remote main failed (exit 128): "
        "fatal: 'no-such-remote' does not appear to be a git repository"
    )
    assert isinstance(error, PromoterError)
    assert error.exit_code == 1


def test_missing_directory_is_a_promoter_error(tmp_path: Path) -> None:
    with pytest.raises(PromoterError, match="no such directory"):
        _git(tmp_path / "absent").head()


HOSTILE = [
    "model:train",
    "a b/../c",
    "..",
    ".lock",
    "x.lock",
    "foo.lock.lock",
    "-rf",
    "--force",
    "@{-1}",
    "@",
    "HEAD",
    "refs/heads/main",
    "~^:?*[\\",
    "",
    "   ",
    "ünïcødé",
    "a..b",
    ".hidden",
    "a//b",
    "trailing.",
    "name.lock.",
    "x" * 300,
    "tab\there\nnewline",
    "$(rm -rf /); `id`",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_valid_branch_component_on_hostile_input(text: str, repo: tuple[Path, Path]) -> None:
    component = valid_branch_component(text)
    assert component
    assert len(component) <= 100
    assert set(component) <= set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    assert ".." not in component
    assert not component.startswith((".", "-"))
    assert not component.endswith((".", ".lock"))
    work, _ = repo
    for name in (component, f"promoter/{component}-0123abcd"):
        assert (
            subprocess.run(
                ["git", "check-ref-format", "--branch", name], cwd=work, capture_output=True
            ).returncode
            == 0
        ), name
        assert _git(work).check_branch_name(name)


def test_valid_branch_component_examples() -> None:
    assert valid_branch_component("model:train") == "model-train"
    assert valid_branch_component("Model:Train") == "model-train"
    assert valid_branch_component("a b/../c") == "a-b-.-c"
    assert valid_branch_component("x.lock") == "x"
    assert valid_branch_component("..") == "op"
    assert valid_branch_component("") == "op"
    assert valid_branch_component("ünï") == "n"


@pytest.mark.parametrize("name", ["-x", "a..b", "HEAD", "@{-1}", "x.lock", "a b", "a:b", ""])
def test_check_branch_name_rejects(name: str, repo: tuple[Path, Path]) -> None:
    assert not _git(repo[0]).check_branch_name(name)


def test_path_prefix(tmp_path):
    from promoter.tools.git import path_prefix

    (tmp_path / "ml" / "sub").mkdir(parents=True)
    assert path_prefix(tmp_path, tmp_path) == ""
    assert path_prefix(tmp_path, tmp_path / "ml" / "sub") == "ml/sub/"
    (tmp_path / "link").symlink_to(tmp_path / "ml")
    assert path_prefix(tmp_path, tmp_path / "link") == "ml/"
