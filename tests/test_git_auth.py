"""Pushing with a forge's token over HTTPS-like transport (the fake GitLab serves git over
HTTP with GitLab's access rules): the token reaches the server and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promoter.errors import PromoterError
from promoter.tools.git import Git
from tests.fakegitlab import DEFAULT_TOKEN, FakeGitLab
from tests.repos import commit_all, git, make_repo_with_bare_remote


@pytest.fixture
def served(tmp_path: Path, fake_gitlab: FakeGitLab) -> tuple[Path, Path, str]:
    """A checkout whose ``origin`` is the fake GitLab's HTTP URL of a bare repository."""
    work, bare = make_repo_with_bare_remote(tmp_path)
    fake_gitlab.state.add_project("ml/model", bare=bare)
    url = f"{fake_gitlab.url}/ml/model.git"
    git(work, "remote", "set-url", "origin", url)
    (work / "model.txt").write_text("v2\n")
    commit_all(work, "v2")
    return work, bare, url


def test_a_push_needs_the_token_and_the_token_is_written_nowhere(
    served: tuple[Path, Path, str], fake_gitlab: FakeGitLab
) -> None:
    work, bare, _ = served
    with pytest.raises(PromoterError, match="git push"):
        Git(work).push("origin", "promote/train")
    authed = Git(work).authenticated(fake_gitlab.url, "oauth2", DEFAULT_TOKEN)
    authed.push("origin", "promote/train")
    head = git(work, "rev-parse", "HEAD").strip()
    assert git(bare, "rev-parse", "promote/train").strip() == head
    for config in (work / ".git" / "config", bare / "config"):
        assert DEFAULT_TOKEN not in config.read_text()
    assert DEFAULT_TOKEN not in os.environ.get("GIT_CONFIG_VALUE_1", "")


def test_a_header_stored_by_the_checkout_is_replaced_not_added(
    served: tuple[Path, Path, str], fake_gitlab: FakeGitLab
) -> None:
    work, bare, _ = served
    # What actions/checkout leaves behind: its own token as an extra header for the server.
    git(
        work,
        "config",
        f"http.{fake_gitlab.url}/.extraheader",
        "Authorization: Basic b2F1dGgyOndyb25nLXRva2Vu",  # oauth2:wrong-token
    )
    with pytest.raises(PromoterError):
        Git(work).push("origin", "promote/train")
    Git(work).authenticated(fake_gitlab.url, "oauth2", DEFAULT_TOKEN).push(
        "origin", "promote/train"
    )
    assert git(bare, "rev-parse", "promote/train").strip() == git(work, "rev-parse", "HEAD").strip()


def test_the_token_goes_only_to_its_server(
    served: tuple[Path, Path, str], fake_gitlab: FakeGitLab
) -> None:
    work, _, _ = served
    elsewhere = Git(work).authenticated("http://127.0.0.1:9", "oauth2", DEFAULT_TOKEN)
    with pytest.raises(PromoterError):
        elsewhere.push("origin", "promote/train")
