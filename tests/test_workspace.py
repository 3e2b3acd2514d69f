"""The DVC config a promotion worktree gets: pure text in, text out."""

from __future__ import annotations

import configparser
from pathlib import Path

from promoter.tools.worktree import find_dvc_root, worktree_dvc_config


def _parsed(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_relative_paths_become_absolute_and_the_cache_is_shared(tmp_path):
    dvc_dir = tmp_path / "repo" / ".dvc"
    tracked = (
        "[core]\n    remote = storage\n"
        "['remote \"storage\"']\n    url = ../../dvc-remote\n"
        "['remote \"s3\"']\n    url = s3://bucket/path\n"
    )
    out = _parsed(worktree_dvc_config(dvc_dir, tracked, ""))
    assert out.get("'remote \"storage\"'", "url") == str((tmp_path / "dvc-remote").resolve())
    assert not out.has_section("'remote \"s3\"'")
    assert out.get("cache", "dir") == str((dvc_dir / "cache").resolve())
    assert out.get("cache", "type") == '"hardlink,reflink,copy"'


def test_local_config_is_kept_and_a_chosen_cache_type_is_respected(tmp_path):
    dvc_dir = tmp_path / ".dvc"
    tracked = "[cache]\n    type = symlink\n"
    local = (
        "['remote \"mine\"']\n    url = /data/remote\n    password = secret\n"
        "[cache]\n    dir = ../shared-cache\n"
    )
    out = _parsed(worktree_dvc_config(dvc_dir, tracked, local))
    assert out.get("'remote \"mine\"'", "password") == "secret"
    assert out.get("'remote \"mine\"'", "url") == "/data/remote"
    assert out.get("cache", "dir") == str((tmp_path / "shared-cache").resolve())
    assert not out.has_option("cache", "type")


def test_find_dvc_root_stops_at_the_worktree(tmp_path):
    root = tmp_path / "wt"
    (root / "a" / "b").mkdir(parents=True)
    assert find_dvc_root(root / "a" / "b", root) is None
    (root / ".dvc").mkdir()
    assert find_dvc_root(root / "a" / "b", root) == root
    (root / "a" / ".dvc").mkdir()
    assert find_dvc_root(root / "a" / "b", root) == root / "a"
    (tmp_path / ".dvc").mkdir()
    assert find_dvc_root(Path(root / "x"), root / "x") is None
