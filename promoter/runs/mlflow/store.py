"""MLflow runs as a run store (SPEC "Where runs come from", ``type: mlflow``).

Listing is one paged ``search_runs`` over the configured experiments, deleted runs never
included, with the selection's status and start-time filters applied by the server (the
part of the filters it applies exactly). A search answers the latest value of each metric:
histories are read by :meth:`MlflowRunStore.with_series` for the runs and metrics the
selection aggregates or plots. Artifacts are listed and downloaded only for the run being
promoted, and only the paths asked for.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from promoter.core.models import Provenance, Run, RunFile, RunFiles, ScalarSeries
from promoter.errors import UsageError
from promoter.runs.base import Progress, RunListing, RunQuery, newest_first
from promoter.runs.mlflow.connection import (
    check_local_store,
    client_environment,
    is_remote,
    open_client,
    resolve_experiments,
    talking_to,
    tracking_uri,
)
from promoter.runs.mlflow.mapping import (
    PARENT,
    SOURCE_NAME,
    USER,
    MlflowRunData,
    history_series,
    reproduce_command,
    search_filter,
    to_run,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run as MlflowRun

    from promoter.settings import Settings

log = logging.getLogger("promoter")

PAGE: Final = 1000
"""Runs per ``search_runs`` request (MLflow's default page; the server takes up to 50,000)."""
THREADS: Final = 8
"""Metric histories read at once (one request per run and metric)."""
_SEEDS: Final = ("seed", "random_seed", "random_state")


def open_mlflow_store(settings: Settings) -> MlflowRunStore:
    """The tracking server or local store and the experiments the settings name."""
    source = settings.config.source
    uri = tracking_uri(settings.project, source.tracking_uri, settings.env)
    if source.tracking_uri:
        where = "source.tracking_uri"
    elif settings.env.get("MLFLOW_TRACKING_URI"):
        where = "$MLFLOW_TRACKING_URI"
    else:
        where = "the default mlruns/"
    names: tuple[str, ...]
    origin: tuple[str, str | None]
    if source.experiments:
        names, origin = source.experiments, (settings.config_origin, "source.experiment")
    elif settings.env.get("MLFLOW_EXPERIMENT_NAME"):
        names, origin = (settings.env["MLFLOW_EXPERIMENT_NAME"],), ("$MLFLOW_EXPERIMENT_NAME", None)
    else:
        names, origin = ("Default",), ("the default experiment", None)
    client_environment(settings.env)
    return MlflowRunStore(uri, names, origin, where)


class MlflowRunStore:
    """Runs of some experiments of one MLflow tracking server or local store."""

    def __init__(
        self,
        uri: str,
        experiments: Sequence[str],
        origin: tuple[str, str | None] = ("source.experiment", None),
        where: str = "source.tracking_uri",
    ) -> None:
        self.uri = uri
        self.experiment_names = tuple(experiments)
        self.origin = origin
        self.where = where
        self._client: MlflowClient | None = None
        self._experiments: dict[str, str] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self.downloaded: list[tuple[str, str]] = []
        """(run id, artifact path) downloaded by :meth:`materialize`, in order."""

    @property
    def location(self) -> str:
        """The store and its experiments."""
        names = ", ".join(self.experiment_names)
        return f"MLflow {self.uri} (from {self.where}), experiment {names}"

    @property
    def client(self) -> MlflowClient:
        """MLflow's client, made on first use."""
        if self._client is None:
            if not is_remote(self.uri):
                check_local_store(self.uri, self.where)
            self._client = open_client(self.uri)
        return self._client

    @property
    def experiments(self) -> dict[str, str]:
        """Experiment id -> name, resolved once."""
        if self._experiments is None:
            self._experiments = resolve_experiments(
                self.client, self.uri, self.experiment_names, self.origin
            )
        return self._experiments

    def list_runs(self, progress: Progress | None = None) -> RunListing:
        """Every run of the experiments that is not deleted, newest first."""
        return self.query_runs(RunQuery(), progress)

    def query_runs(self, query: RunQuery, progress: Progress | None = None) -> RunListing:
        """The runs that can pass the query's status and start-time filters, plus the runs it
        keeps (the champion's), newest first."""
        experiments = self.experiments
        wanted = search_filter(query.statuses, query.started_after)
        found: list[MlflowRun] = []
        token: str | None = None
        with talking_to(self.uri):
            while True:
                page = self.client.search_runs(
                    list(experiments),
                    wanted,
                    max_results=PAGE,
                    order_by=["attributes.start_time DESC"],
                    page_token=token,
                )
                found.extend(page)
                token = page.token
                if progress is not None:
                    progress(len(found), len(found) + (PAGE if token else 0))
                if not token:
                    break
            listed = {r.info.run_id for r in found}
            for run_id in sorted(query.keep - listed):
                kept = self._get_run(run_id)
                if kept is not None and kept.info.experiment_id in experiments:
                    found.append(kept)
        if not found and not wanted:
            raise UsageError(f"{self.location} holds no runs")
        parents = {r.data.tags.get(PARENT) for r in found}
        runs = [to_run(self._data(r), batch=r.info.run_id in parents) for r in found]
        runs.sort(key=newest_first)
        return RunListing(tuple(runs))

    def with_series(self, runs: Sequence[Run], names: Collection[str]) -> tuple[Run, ...]:
        """``runs`` with the whole history of each scalar of ``names`` they have."""
        jobs = [
            (run.id, name)
            for run in runs
            for name in names
            if (s := run.scalars.get(name)) is not None and s.latest_only
        ]
        if not jobs:
            return tuple(runs)
        with talking_to(self.uri), ThreadPoolExecutor(THREADS) as pool:
            histories = pool.map(self._history, jobs)
            by_run: dict[str, dict[str, ScalarSeries]] = {}
            for (run_id, name), series in zip(jobs, histories, strict=True):
                by_run.setdefault(run_id, {})[name] = series
        log.debug("read %d metric histories from %s", len(jobs), self.uri)
        return tuple(
            replace(run, scalars={**run.scalars, **by_run[run.id]}) if run.id in by_run else run
            for run in runs
        )

    def run_files(self, run: Run) -> RunFiles:
        """The artifacts under the run's artifact root (MLflow keeps no source snapshot)."""
        with talking_to(self.uri):
            found = list(self._walk(run.id, None))
        return RunFiles(source=(), dependencies=(), generated=tuple(found))

    def materialize(self, run: Run, paths: Collection[str]) -> Path:
        """A scratch directory holding the run's artifacts at ``paths``, downloaded now."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="promoter-mlflow-")
        root = Path(self._scratch.name) / run.id
        root.mkdir(parents=True, exist_ok=True)
        with talking_to(self.uri):
            for path in sorted(set(paths)):
                if not (root / path).exists():
                    self.client.download_artifacts(run.id, path, str(root))
                    self.downloaded.append((run.id, path))
        return root

    def provenance(self, run: Run) -> Provenance:
        """Who ran it and from which source file, as MLflow's tags say (no host recorded)."""
        found = self._get_run(run.id)
        tags = dict(found.data.tags) if found else {}
        params = dict(found.data.params) if found else {}
        seed = next((params[k] for k in _SEEDS if k in params), None)
        return Provenance(
            user=tags.get(USER) or (found.info.user_id if found else None) or None,
            random_seed=int(seed) if seed is not None and seed.lstrip("-").isdigit() else None,
            command=(tags[SOURCE_NAME],) if tags.get(SOURCE_NAME) else (),
            records_uncommitted=False,
        )

    def reproduce(self, run: Run) -> str:
        """The commit, ``dvc pull``, and ``mlflow run`` with the recorded entry point."""
        found = self._get_run(run.id)
        tags = dict(found.data.tags) if found else {}
        params = dict(found.data.params) if found else {}
        return reproduce_command(run, tags, params)

    def _data(self, run: MlflowRun) -> MlflowRunData:
        info, data = run.info, run.data
        return MlflowRunData(
            run_id=info.run_id,
            experiment=self.experiments.get(info.experiment_id, info.experiment_id),
            status=info.status,
            start_ms=info.start_time,
            end_ms=info.end_time,
            params=data.params,
            metrics=data.metrics,
            tags=data.tags,
        )

    def _get_run(self, run_id: str) -> MlflowRun | None:
        return _cached_run(self.client, self.uri, run_id)

    def _history(self, job: tuple[str, str]) -> ScalarSeries:
        run_id, name = job
        points = self.client.get_metric_history(run_id, name)
        return history_series(name, ((m.step, m.timestamp, m.value) for m in points))

    def _walk(self, run_id: str, path: str | None) -> Iterable[RunFile]:
        for entry in self.client.list_artifacts(run_id, path):
            if entry.is_dir:
                yield from self._walk(run_id, entry.path)
            else:
                yield RunFile(entry.path, "generated", size=entry.file_size)


@lru_cache(maxsize=64)
def _cached_run(client: MlflowClient, uri: str, run_id: str) -> MlflowRun | None:
    """One run as MLflow has it (tags, params), read once (provenance, reproduce)."""
    from mlflow.exceptions import MlflowException

    with talking_to(uri):
        try:
            found = client.get_run(run_id)
        except MlflowException as e:
            if str(e.error_code) == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
    return found if found.info.lifecycle_stage == "active" else None
