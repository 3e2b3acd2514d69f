"""The parts that make listing fast: the YAML fast path, forked reading, the run cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from promoter.cli.report import listing_json
from promoter.runs import forked
from promoter.runs.guild import runcache
from promoter.runs.guild import store as guild_store
from promoter.runs.guild.plainyaml import NOT_SIMPLE, flat_mapping, plain_scalar
from promoter.runs.guild.store import GuildRunStore
from tests.conftest import GuildWorld
from tests.guildrun import guild

keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False),
    st.text(alphabet="abcxyzAZ09_./-: '#yesnoONtrue", max_size=12),
)


@settings(max_examples=400)
@given(st.dictionaries(keys, scalars, max_size=8))
def test_flat_mapping_agrees_with_pyyaml(flags: dict[str, object]) -> None:
    text = yaml.safe_dump(flags, default_flow_style=False)
    fast = flat_mapping(text)
    if fast is not NOT_SIMPLE:
        assert fast == yaml.safe_load(text)


@settings(max_examples=400)
@given(scalars)
def test_plain_scalar_agrees_with_pyyaml(value: object) -> None:
    text = yaml.safe_dump(value).removesuffix("\n...\n").rstrip("\n")
    fast = plain_scalar(text)
    if fast is not NOT_SIMPLE:
        assert fast == yaml.safe_load(text)
        assert type(fast) is type(yaml.safe_load(text))


def test_fast_path_takes_plain_scalars() -> None:
    """The agreement tests above only check what the fast path takes: show that it takes these."""
    assert (
        plain_scalar("3") == 3
        and plain_scalar("-0.25") == -0.25
        and plain_scalar("1.0e-05") == 1e-5
    )
    assert (
        plain_scalar("no") is False and plain_scalar("~") is None and plain_scalar("adam") == "adam"
    )
    for tricky in ("0x1f", "1_000", "'x'", ".nan", "2001-12-14", "a b"):
        assert plain_scalar(tricky) is NOT_SIMPLE, tricky


def test_fast_path_takes_guilds_usual_flags() -> None:
    assert flat_mapping("epochs: 3\nfail: false\nlr: 0.2\nname: adam\nseed:\n") == {
        "epochs": 3,
        "fail": False,
        "lr": 0.2,
        "name": "adam",
        "seed": None,
    }
    for tricky in (
        "a: 0o17\n",
        "a: 1_000\n",
        "a: 2001-12-14\n",
        "a: [1, 2]\n",
        "yes: 1\n",
        "a: 'x'\n",
        "  a: 1\n",
        "a: 1\na: 2\n",
        "a: .inf\n",
        "a: 1e3\n",
    ):
        assert flat_mapping(tricky) is NOT_SIMPLE, tricky


def _square_all(items: list[int]) -> list[int]:
    return [i * i for i in items]


def test_map_chunks_matches_a_plain_map() -> None:
    items = list(range(5000))
    chunks = forked.map_chunks(_square_all, items, processes=2)
    assert len(chunks) == 2
    assert [x for chunk in chunks for x in chunk] == _square_all(items)
    assert forked.map_chunks(_square_all, items[:10], processes=2) == [_square_all(items[:10])]


def test_a_failing_child_chunk_is_redone_in_the_parent() -> None:
    parent = os.getpid()

    def fragile(items: list[int]) -> list[int]:
        if os.getpid() != parent:
            os._exit(7)
        return _square_all(items)

    items = list(range(4000))
    chunks = forked.map_chunks(fragile, items, processes=2)
    assert [x for chunk in chunks for x in chunk] == _square_all(items)


@pytest.fixture
def home_copy(guild_world: GuildWorld, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(guild_world.home / "runs", home / "runs", symlinks=True)
    return home


def same(a: object, b: object) -> bool:
    """Listings equal, NaN included (NaN != NaN once a value went through pickle)."""
    return listing_json(a) == listing_json(b)  # type: ignore[arg-type]


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = guild_store.read_run

    def spy(path: str, name: str):  # type: ignore[no-untyped-def]
        reads.append(name)
        return real(path, name)

    monkeypatch.setattr(guild_store, "read_run", spy)
    return reads


def test_cache_reuses_finished_runs_and_rereads_changed_ones(
    home_copy: Path, tmp_path: Path, guild_world: GuildWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = GuildRunStore(home_copy, tmp_path / "cache")
    first = store.list_runs()
    assert store.cache_path is not None and store.cache_path.is_file()
    reads = _counting_reads(monkeypatch)
    second = store.list_runs()
    assert same(second, first)
    unfinished = {guild_world["running"], guild_world["staged"]}
    assert set(reads) == unfinished

    reads.clear()
    guild(guild_world.project, home_copy, "label", "-y", "--set", "relabelled", guild_world["low"])
    guild(guild_world.project, home_copy, "tag", "-y", "--add", "gold", guild_world["best"])
    third = {r.id: r for r in store.list_runs().runs}
    assert set(reads) == unfinished | {guild_world["low"], guild_world["best"]}
    assert third[guild_world["low"]].label == "relabelled"
    assert "gold" in third[guild_world["best"]].tags

    reads.clear()
    (home_copy / "runs" / guild_world["nan"] / ".guild" / "attrs" / "exit_status").unlink()
    restarted = {r.id: r for r in store.list_runs().runs}[guild_world["nan"]]
    assert guild_world["nan"] in reads
    assert restarted.status.value == "error"

    shutil.rmtree(home_copy / "runs" / guild_world["failed"])
    assert guild_world["failed"] not in {r.id for r in store.list_runs().runs}


def test_an_unchanged_listing_does_not_rewrite_the_cache(
    home_copy: Path, tmp_path: Path, guild_world: GuildWorld
) -> None:
    """Runs still running are never cached, and must not make every listing rewrite it."""
    store = GuildRunStore(home_copy, tmp_path / "cache")
    listing = store.list_runs()
    assert any(r.status.value == "running" for r in listing.runs)
    assert store.cache_path is not None
    written = store.cache_path.stat().st_mtime_ns
    store.list_runs()
    assert store.cache_path.stat().st_mtime_ns == written


def test_a_damaged_or_foreign_cache_is_ignored(home_copy: Path, tmp_path: Path) -> None:
    store = GuildRunStore(home_copy, tmp_path / "cache")
    expected = store.list_runs()
    assert store.cache_path is not None
    store.cache_path.write_bytes(b"not a pickle")
    assert same(store.list_runs(), expected)
    assert runcache.load(store.cache_path) != {}
    store.cache_path.chmod(0o666)
    assert runcache.load(store.cache_path) == {}


def test_no_cache_dir_means_no_cache(home_copy: Path) -> None:
    store = GuildRunStore(home_copy)
    assert store.cache_path is None
    assert store.list_runs().runs


def test_forked_listing_equals_sequential(home_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs_dir = home_copy / "runs"
    finished = (p for p in runs_dir.iterdir() if (p / ".guild/attrs/exit_status").exists())
    source = next(finished)
    for i in range(forked.MIN_ITEMS + 50):
        shutil.copytree(source, runs_dir / f"{i:032x}", symlinks=True)
    parallel = GuildRunStore(home_copy).list_runs()
    monkeypatch.setattr(forked, "workers", lambda: 1)
    sequential = GuildRunStore(home_copy).list_runs()
    assert same(parallel, sequential)
    assert len(parallel.runs) > forked.MIN_ITEMS
