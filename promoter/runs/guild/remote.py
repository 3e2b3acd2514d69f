"""A Guild remote on S3 as a run store: the layout ``guild push`` writes, read in place.

``<root>/runs/<id>/`` holds each run directory as in a Guild home, ``<root>/meta-id`` changes
on every push, delete, restore and purge, and deleted runs sit under ``<root>/trash/runs/``
(never listed). Listing reads, for each run, only what ranking needs: ``.guild/opref``, the
listing attributes, the status markers and the event files. These are downloaded in parallel
(bounded) into a mirror in promoter's cache directory and parsed by :mod:`.rundir`, as for a
local Guild home. Finished or not, a run is read again only when one of those objects changes
(their ETags are its signature), and the whole listing is reused while ``meta-id`` is
unchanged. A run's other files (the model) are downloaded only by :meth:`materialize`, only
the paths asked for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from promoter import __version__
from promoter.core.models import Provenance, Run, RunFiles
from promoter.errors import PromoterError, UsageError
from promoter.runs.base import Progress, RunListing, SkippedRun, newest_first
from promoter.runs.forked import map_chunks
from promoter.runs.guild import runcache
from promoter.runs.guild.recorded import provenance_of
from promoter.runs.guild.remoteindex import (
    PACKAGES_ATTR,
    PROVENANCE_ATTRS,
    RUN_ID,
    RemoteRun,
    group_runs,
    safe_path,
)
from promoter.runs.guild.remotemirror import (
    ChunkParser,
    sync_layout,
    triage,
    unchanged_objects,
)
from promoter.runs.guild.remotes import S3Remote, resolve_remote
from promoter.runs.guild.rundir import (
    AttrReader,
    CorruptRun,
    split_run_files,
)
from promoter.runs.guild.s3 import S3, S3Object
from promoter.runs.guild.store import guild_run_command

if TYPE_CHECKING:
    from promoter.settings import Settings

log = logging.getLogger("promoter")

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 16
STATE_FORMAT = ("guild-remote", 1, __version__)
_HEX = "0123456789abcdef"
_State = tuple[str | None, runcache.Entries, tuple[SkippedRun, ...]]


def open_remote_store(settings: Settings) -> RemoteRunStore:
    """The remote ``source.remote`` names, read through the settings' environment."""
    remote = settings.config.source.remote
    assert remote is not None
    spec = resolve_remote(remote, settings.config_origin, settings.project, settings.env)
    return RemoteRunStore(spec, settings.cache_dir, settings.env)


class RemoteRunStore:
    """Runs of one Guild remote on S3; metadata and files mirrored under ``cache_dir`` (a
    temporary directory, removed at exit, when the cache is off)."""

    def __init__(
        self,
        remote: S3Remote,
        cache_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.remote = remote
        self.env = dict(env or {})
        self.workers = workers
        self._s3: S3 | None = None
        self._objects: dict[str, dict[str, S3Object]] = {}
        self._cache_dir = cache_dir
        self._mirror: Path | None = None
        self.state_path: Path | None = None

    @property
    def location(self) -> str:
        """The remote, its bucket and root, and where it was defined."""
        return self.remote.described

    @property
    def s3(self) -> S3:
        """The S3 client, made (and botocore imported) on first use."""
        if self._s3 is None:
            self._s3 = S3(self.remote, self.env, self.workers)
        return self._s3

    @property
    def mirror(self) -> Path:
        """The local mirror: ``meta/<id>/`` for listing, ``files/<id>/`` for a run's files."""
        if self._mirror is None:
            if self._cache_dir is not None:
                digest = hashlib.sha256(
                    f"{self.s3.endpoint}|{self.remote.bucket}|{self.remote.key()}".encode()
                ).hexdigest()[:16]
                self._mirror = self._cache_dir / f"guild-remote-{digest}"
                self.state_path = self._cache_dir / f"guild-remote-{digest}.pickle"
            else:
                self._mirror = Path(tempfile.mkdtemp(prefix="promoter-remote-"))
                weakref.finalize(self, shutil.rmtree, self._mirror, ignore_errors=True)
        return self._mirror

    def list_runs(self, progress: Progress | None = None) -> RunListing:
        """Every readable run, newest first; runs that cannot be read (a push that did not
        finish, corrupt attributes) are reported as skipped.

        Raises UsageError when the remote holds no runs, ConfigError when its bucket does not
        exist, and PromoterError when S3 does not answer.
        """
        mirror = self.mirror
        found = self.s3.get(self.remote.key("meta-id"))
        meta_id = found.decode(errors="replace").strip() if found is not None else None
        state = self._load_state()
        if meta_id is not None and state is not None and state[0] == meta_id:
            log.debug("meta-id unchanged: the listing of %s is reused", self.remote.url)
            kept = sorted((run for _, run in state[1].values()), key=newest_first)
            if progress is not None:
                progress(len(kept) + len(state[2]), len(kept) + len(state[2]))
            return self._nonempty(RunListing(tuple(kept), state[2]))
        cached = state[1] if state is not None else {}
        runs_prefix = self.remote.key("runs") + "/"
        with ThreadPoolExecutor(self.workers, thread_name_prefix="promoter-s3") as pool:
            shards = _parallel(pool, self._list_shard, _shards(runs_prefix))
            listed = group_runs((o for shard in shards for o in shard), runs_prefix)
            self._objects = {r.run_id: r.objects for r in listed.values()}
            total = len(listed)
            if progress is not None:
                progress(0, total)
            reused, fresh, skipped = triage(listed, cached)
            if progress is not None:
                progress(len(reused), total)
            self._fetch_meta(pool, [listed[i] for i in fresh], cached)
        parsed = map_chunks(
            ChunkParser(str(mirror / "meta")), [(i, listed[i].locked) for i in fresh]
        )
        runs = [cached[i][1] for i in reused]
        entries: runcache.Entries = {i: cached[i] for i in reused}
        for chunk in parsed:
            for run_id, outcome in chunk:
                if isinstance(outcome, str):
                    skipped.append(SkippedRun(run_id, outcome))
                else:
                    runs.append(outcome)
                    entries[run_id] = (listed[run_id].signature, outcome)
        self._prune(mirror / "meta", listed)
        if progress is not None:
            progress(total, total)
        runs.sort(key=newest_first)
        skipped.sort(key=lambda s: s.run_id)
        listing = RunListing(tuple(runs), tuple(skipped))
        if self.state_path is not None:
            state = (meta_id, entries, listing.skipped)
            runcache.write_pickle(self.state_path, STATE_FORMAT, state)
        traffic = self.s3.traffic
        log.debug(
            "listed %d runs of %s: %d read, %d from the cache; %d objects (%d bytes), %d pages",
            total,
            self.remote.url,
            len(fresh),
            len(reused),
            traffic.gets,
            traffic.bytes,
            traffic.pages,
        )
        return self._nonempty(listing)

    def run_files(self, run: Run) -> RunFiles:
        """Source and dependency files from the run's manifest (downloaded); every other
        object outside ``.guild/`` is generated, with its size from the listing."""
        objects = self._run_objects(run.id)
        root = self._fetch_files(run.id, [".guild/manifest"])
        files = ((p, o.size) for p, o in objects.items() if not p.startswith(".guild/"))
        return split_run_files(root / ".guild" / "manifest", files)

    def materialize(self, run: Run, paths: Collection[str]) -> Path:
        """A local directory holding the run's files at ``paths``, downloaded (only those)
        unless already there unchanged."""
        for path in paths:
            if not safe_path(path) or path.startswith(".guild/"):
                raise PromoterError(
                    f"run {run.short_id}: refusing to download {path!r}: not a file of the run"
                )
        return self._fetch_files(run.id, paths)

    def provenance(self, run: Run) -> Provenance:
        """Host, user, source digest, seed, command and packages, downloaded for this run."""
        names = [f".guild/attrs/{n}" for n in (*PROVENANCE_ATTRS, PACKAGES_ATTR)]
        root = self._fetch_files(run.id, names)
        attrs = AttrReader(f"{root}/.guild/attrs/")
        try:
            # The run's recorded environment is not downloaded: it may hold its secrets.
            return provenance_of(attrs, {})
        except CorruptRun as e:
            raise PromoterError(f"run {run.id}: {e}") from e

    def reproduce(self, run: Run) -> str:
        """The ``guild run`` command that repeats the run with its flags."""
        return guild_run_command(run)

    def _nonempty(self, listing: RunListing) -> RunListing:
        if not listing.runs and not listing.skipped:
            raise UsageError(f"{self.remote.described} holds no runs (nothing under runs/)")
        return listing

    def _list_shard(self, bounds: tuple[str, str, str]) -> list[S3Object]:
        prefix, start_after, stop_at = bounds
        return list(self.s3.list(prefix, start_after, stop_at))

    def _load_state(self) -> _State | None:
        if self.state_path is None:
            return None
        state = runcache.read_pickle(self.state_path, STATE_FORMAT)
        return state if isinstance(state, tuple) and len(state) == 3 else None

    def _fetch_meta(
        self, pool: ThreadPoolExecutor, runs: Sequence[RemoteRun], cached: runcache.Entries
    ) -> None:
        """Bring each run's listing objects into ``meta/<id>/``, downloading only those that
        changed since the cached signature, and remove what the run no longer has."""
        jobs: list[tuple[str, Path]] = []
        for run in runs:
            root = self.mirror / "meta" / run.run_id
            old = cached.get(run.run_id)
            unchanged = unchanged_objects(old[0]) if old else set()
            sync_layout(root, run)
            for path, obj in run.needed.items():
                dest = root / path
                if (path, obj.etag, obj.size) in unchanged and dest.is_file():
                    continue
                jobs.append((obj.key, dest))
        _parallel(pool, lambda job: self.s3.download(*job), jobs)

    def _run_objects(self, run_id: str) -> dict[str, S3Object]:
        found = self._objects.get(run_id)
        if found is None:
            prefix = self.remote.key("runs", run_id) + "/"
            found = {o.key[len(prefix) :]: o for o in self.s3.list(prefix)}
            found = {p: o for p, o in found.items() if safe_path(p)}
            if not found:
                raise PromoterError(f"run {run_id} is no longer in {self.remote.described}")
            self._objects[run_id] = found
        return found

    def _fetch_files(self, run_id: str, paths: Iterable[str]) -> Path:
        """``files/<id>/`` with ``paths`` (those the run has) present and current."""
        if not RUN_ID.match(run_id):
            raise PromoterError(f"{run_id!r} is not a Guild run id")
        objects = self._run_objects(run_id)
        root = self.mirror / "files" / run_id
        index_path = self.mirror / "files" / f"{run_id}.etags.json"
        try:
            index: dict[str, str] = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            index = {}
        jobs: list[tuple[str, str, Path]] = []
        for path in dict.fromkeys(paths):
            obj = objects.get(path)
            if obj is None:
                continue
            dest = root / path
            if index.get(path) == obj.etag and dest.is_file():
                continue
            jobs.append((path, obj.key, dest))
        if jobs:
            with ThreadPoolExecutor(min(self.workers, len(jobs))) as pool:
                _parallel(pool, lambda job: self.s3.download(job[1], job[2]), jobs)
            index.update((path, objects[path].etag) for path, _, _ in jobs)
            index_path.parent.mkdir(parents=True, exist_ok=True)
            index_path.write_text(json.dumps(index), encoding="utf-8")
            log.debug("downloaded %s of run %s", ", ".join(p for p, _, _ in jobs), run_id[:8])
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _prune(self, meta: Path, listed: dict[str, RemoteRun]) -> None:
        """Forget the mirrors of runs no longer in the remote (deleted or moved to trash)."""
        try:
            names = [entry.name for entry in meta.iterdir()]
        except OSError:
            return
        for name in names:
            if name not in listed:
                shutil.rmtree(meta / name, ignore_errors=True)
                shutil.rmtree(self.mirror / "files" / name, ignore_errors=True)
                (self.mirror / "files" / f"{name}.etags.json").unlink(missing_ok=True)


def _shards(prefix: str) -> list[tuple[str, str, str]]:
    """The key space under ``prefix`` cut by the first hex digit of the run id, so that
    listing pages are fetched in parallel: (prefix, start after, stop at). Names that do
    not start with a hex digit are not Guild runs and are not listed."""
    return [(prefix + c, "", "") for c in _HEX]


def _parallel(pool: ThreadPoolExecutor, func: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[func(item) for item in items]`` on the pool; on the first failure the calls not yet
    started are cancelled (a dead endpoint fails once, not once per object) and it is raised."""
    futures = [pool.submit(func, item) for item in items]
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise
