"""The dvc adapter against real dvc, with a local directory remote (and the same directory
served over HTTP, to reach the path dvc status takes for remotes that are not local)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.errors import PromoterError
from promoter.tools.dvc import Dvc, DvcError, DvcOut, parse_dvc_pointer
from tests.repos import (
    commit_all,
    dvc,
    dvc_exe,
    git,
    make_dvc_remote,
    make_repo_with_bare_remote,
)

DATA_DIR = "data dir"
OUTS = ["model.bin", "on", DATA_DIR]


@dataclass
class Pushed:
    """A git+dvc project whose outputs ``OUTS`` were added, committed and pushed."""

    work: Path
    remote: Path
    model: bytes

    def object_path(self, md5: str) -> Path:
        return self.remote / "files" / "md5" / md5[:2] / md5[2:]

    def out(self, pointer: str) -> DvcOut:
        return parse_dvc_pointer((self.work / pointer).read_text()).outs[0]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _moved_away(*paths: Path) -> Iterator[None]:
    """Objects taken out of the remote for the duration, then put back."""
    for path in paths:
        path.rename(path.with_name(path.name + ".away"))
    try:
        yield
    finally:
        for path in paths:
            path.with_name(path.name + ".away").rename(path)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("dvc")
    work, _ = make_repo_with_bare_remote(root)
    remote = root / "dvc remote"
    make_dvc_remote(work, remote)
    with _serve(remote) as url:
        make_dvc_remote(work, url, name="web", default=False)
        model = bytes(range(256)) * 64
        (work / "model.bin").write_bytes(model)
        (work / "on").write_text("a file whose name YAML 1.1 reads as true\n")
        (work / DATA_DIR).mkdir()
        for i in range(100):
            (work / DATA_DIR / f"part {i:03}.txt").write_text(f"row {i}\n")
        d = Dvc(work)
        d.add(OUTS)
        commit_all(work, "track data with dvc")
        d.push([f"{p}.dvc" for p in OUTS], None, jobs=4)
        yield Pushed(work, remote, model)


@pytest.mark.slow
def test_add_writes_pointers_that_parse(pushed: Pushed) -> None:
    model = pushed.out("model.bin.dvc")
    assert model == DvcOut(
        path="model.bin",
        md5=hashlib.md5(pushed.model).hexdigest(),
        size=len(pushed.model),
        nfiles=None,
        is_dir=False,
    )
    assert pushed.out("on.dvc").path == "on"
    data = pushed.out(f"{DATA_DIR}.dvc")
    assert data.path == DATA_DIR
    assert data.is_dir
    assert data.nfiles == 100
    assert data.size == sum(len(f"row {i}\n") for i in range(100))
    listing = json.loads(pushed.object_path(f"{data.md5}.dir").read_text())
    assert len(listing) == 100
    assert "/model.bin" in (pushed.work / ".gitignore").read_text().splitlines()
    assert (pushed.work / ".dvc").is_dir()


@pytest.mark.slow
def test_pushed_outputs_are_all_in_the_remote(pushed: Pushed) -> None:
    d = Dvc(pushed.work)
    assert d.default_remote() == "storage"
    assert d.remote_url("storage") == str(pushed.remote.resolve())
    with pytest.raises(PromoterError, match="'nope' is not configured"):
        d.remote_url("nope")
    assert pushed.object_path(pushed.out("model.bin.dvc").md5).is_file()
    assert d.missing_in_remote(["model.bin", "on.dvc", f"{DATA_DIR}.dvc"], None) == []
    assert d.missing_in_remote([], None) == []


@pytest.mark.slow
def test_missing_in_remote_names_what_was_deleted_from_it(pushed: Pushed) -> None:
    d = Dvc(pushed.work)
    targets = [f"{p}.dvc" for p in OUTS]
    model = pushed.object_path(pushed.out("model.bin.dvc").md5)
    data = pushed.out(f"{DATA_DIR}.dvc")
    listing = pushed.object_path(f"{data.md5}.dir")
    one_part = pushed.object_path(json.loads(listing.read_text())[37]["md5"])
    with _moved_away(model):
        assert d.missing_in_remote(targets, "storage") == ["model.bin"]
        # What dvc itself says here, with the object still in the local cache.
        status = json.loads(dvc(pushed.work, "status", "--cloud", "--json", "model.bin.dvc"))
        assert status == {"model.bin": "new"}
    with _moved_away(one_part):
        assert d.missing_in_remote(targets, None) == [DATA_DIR]
    with _moved_away(listing):
        assert d.missing_in_remote([DATA_DIR], None) == [DATA_DIR]
    assert d.missing_in_remote(targets, None) == []


@pytest.mark.slow
def test_missing_in_remote_from_a_fresh_clone_with_no_cache(pushed: Pushed, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(pushed.work), str(clone))
    d = Dvc(clone)
    targets = [f"{p}.dvc" for p in OUTS]
    data = pushed.out(f"{DATA_DIR}.dvc")
    listing = pushed.object_path(f"{data.md5}.dir")
    one_part = pushed.object_path(json.loads(listing.read_text())[0]["md5"])
    model = pushed.object_path(pushed.out("model.bin.dvc").md5)
    assert d.missing_in_remote(targets, None) == []
    with _moved_away(model, one_part):
        assert d.missing_in_remote(targets, None) == ["model.bin", DATA_DIR]
    with _moved_away(listing):
        assert d.missing_in_remote(targets, None) == [DATA_DIR]
    assert not (clone / ".dvc" / "cache").exists()


@pytest.mark.slow
def test_missing_in_remote_through_dvc_status_for_other_remotes(
    pushed: Pushed, tmp_path: Path
) -> None:
    model = pushed.object_path(pushed.out("model.bin.dvc").md5)
    data = pushed.out(f"{DATA_DIR}.dvc")
    listing = pushed.object_path(f"{data.md5}.dir")
    one_part = pushed.object_path(json.loads(listing.read_text())[5]["md5"])
    targets = [f"{p}.dvc" for p in OUTS]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(pushed.work), str(clone))
    with _moved_away(model):
        # Only the local cache holds the object: dvc status says "new".
        assert Dvc(pushed.work).missing_in_remote(["model.bin"], "web") == ["model.bin"]
        # Nowhere: "missing".
        assert Dvc(clone).missing_in_remote(targets, "web") == ["model.bin"]
    shutil.rmtree(clone / ".dvc" / "cache")
    with _moved_away(listing):
        # Nothing cached, .dir nowhere: dvc leaves the directory out of its JSON and warns.
        assert Dvc(clone).missing_in_remote(targets, "web") == [DATA_DIR]
    with _moved_away(one_part):
        # dvc trusts a present .dir for the files in it; the local layout check does not.
        assert Dvc(clone).missing_in_remote(targets, "web") == []
        assert Dvc(clone).missing_in_remote(targets, "storage") == [DATA_DIR]


@pytest.mark.slow
def test_failures_raise_dvc_error_naming_the_verb(pushed: Pushed, tmp_path: Path) -> None:
    blocker = tmp_path / "a regular file"
    blocker.write_text("not a directory")
    dvc(pushed.work, "remote", "add", "--local", "broken", str(blocker / "remote"))
    d = Dvc(pushed.work)
    with pytest.raises(DvcError) as caught:
        d.push(["model.bin.dvc"], "broken")
    error = caught.value
    assert error.command[1:] == ["push", "-r", "broken", "--", "model.bin.dvc"]
    assert error.returncode != 0
    assert str(error).startswith(
        f"dvc push -r broken -- model.bin.dvc failed (exit {error.returncode}): "
    )
    assert "Not a directory" in str(error)
    assert "Having any troubles" not in str(error)

    with pytest.raises(DvcError, match="remote 'absent' doesn't exist"):
        d.push(["model.bin.dvc"], "absent")
    with pytest.raises(DvcError, match=r"^dvc add -- no-such-file failed"):
        d.add(["no-such-file"])


@pytest.mark.slow
def test_default_remote_on_a_new_project_and_an_error_outside_one(tmp_path: Path) -> None:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    work, _ = make_repo_with_bare_remote(tmp_path)
    assert not (work / ".dvc").is_dir()
    dvc(work, "init")
    assert (work / ".dvc").is_dir()
    assert Dvc(work).default_remote() is None
    plain = tmp_path / "not git"
    plain.mkdir()
    with pytest.raises(DvcError, match="you are not inside of a DVC repository"):
        Dvc(plain).add(["x"])


def test_missing_dvc_is_reported_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(PromoterError, match=r"dvc is not installed: pip install 'promoter\[dvc\]'"):
        Dvc(tmp_path, env={"PATH": str(tmp_path)}).add(["x"])


POINTER = """\
outs:
- md5: {md5}
  size: 12
  hash: md5
  path: {path}
"""


def test_parse_dvc_pointer_keeps_scalars_as_text() -> None:
    digits = "0" * 31 + "1"
    pointer = parse_dvc_pointer(POINTER.format(md5=digits, path="on"))
    assert pointer.outs == (DvcOut("on", digits, 12, None, False),)
    dvc2_dir = "outs:\n- md5: " + "a" * 32 + ".dir\n  size: 5\n  nfiles: 2\n  path: d\n"
    legacy = parse_dvc_pointer(dvc2_dir)
    assert legacy.outs == (DvcOut("d", "a" * 32, 5, 2, True, legacy=True),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty 'outs'"),
        ("outs: []\n", "non-empty 'outs'"),
        ("- md5: x\n", "non-empty 'outs'"),
        ("outs: [\n", "not valid YAML"),
        ("outs:\n- just a string\n", r"outs\[0\] is not a mapping"),
        ("outs:\n- md5: " + "a" * 32 + "\n", r"outs\[0\] has no path"),
        ("outs:\n- path: x\n", r"outs\[0\] \(x\) has no md5"),
        (POINTER.format(md5="xyz", path="x"), "malformed md5 'xyz'"),
        (POINTER.format(md5="A" * 32, path="x"), "malformed md5"),
        (POINTER.replace("size: 12", "size: -3").format(md5="a" * 32, path="x"), "size '-3'"),
    ],
)
def test_parse_dvc_pointer_rejects_malformed_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_dvc_pointer(text)
