"""Reaching MLflow: the tracking URI and experiments chosen, the client's own variables
(auth, retries, timeouts) set, and its failures turned into one line a user can act on."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlparse

from promoter.errors import ConfigError, PromoterError, UsageError

if TYPE_CHECKING:
    from mlflow import MlflowClient

# MLflow reads these from os.environ at each request, as MLflow documents them.
AUTH_VARIABLES: Final = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
)
# MLflow's own defaults retry a closed port 7 times with backoff, for minutes (FACTS.md):
# promoter fails within about a minute instead, unless the user sets these.
FAIL_FAST: Final = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
UNREACHABLE: Final = (
    "cannot reach the MLflow tracking server at {uri}: {reason} (gave up after "
    "{retries} retries, {timeout} s per request; see MLFLOW_HTTP_REQUEST_TIMEOUT and "
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES)"
)
DENIED: Final = (
    "the MLflow tracking server at {uri} refused the credentials ({reason}): set "
    "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
)
NO_EXPERIMENT: Final = "no experiment {name!r} at {uri}; it has: {known}"
_DENIED_STATUS = re.compile(r"error code (401|403) != 200")
_CAUSE = re.compile(r"\[Errno -?\d+\] ([^'\")]+)|(Read timed out)|(Connection refused)")


def tracking_uri(project: Path, configured: str | None, env: Mapping[str, str]) -> str:
    """``source.tracking_uri`` (a relative local store is relative to the project), then
    ``$MLFLOW_TRACKING_URI``, then the project's ``mlruns/`` (MLflow's own default)."""
    uri = configured or env.get("MLFLOW_TRACKING_URI") or "mlruns"
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https", "databricks") or (scheme and scheme not in _LOCAL):
        return uri
    if scheme == "sqlite":
        path = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""
        if path and not path.startswith("/"):
            return f"sqlite:///{(project / path).resolve()}"
        return uri
    local = Path(uri[len("file://") :] if scheme == "file" else uri).expanduser()
    return str(local if local.is_absolute() else (project / local).resolve())


_LOCAL = ("file", "sqlite", "")


def is_remote(uri: str) -> bool:
    """A server (reached over the network), not a store on this machine."""
    return urlparse(uri).scheme not in _LOCAL


def check_local_store(uri: str, origin: str) -> None:
    """A local store must exist: MLflow would create an empty one and list nothing."""
    scheme = urlparse(uri).scheme
    if scheme == "sqlite":
        path = Path(uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else uri)
        if not path.is_file():
            raise UsageError(f"MLflow store {uri} does not exist (from {origin})")
    elif scheme in ("", "file") and not Path(uri.removeprefix("file://")).is_dir():
        raise UsageError(f"MLflow store {uri} does not exist (from {origin})")


def client_environment(env: Mapping[str, str]) -> None:
    """Make the settings' environment the one MLflow's client reads: its auth variables as
    given (absent ones removed), its retry and timeout variables as given or fail-fast."""
    for name in AUTH_VARIABLES:
        if env.get(name):
            os.environ[name] = env[name]
        else:
            os.environ.pop(name, None)
    for name, default in FAIL_FAST.items():
        os.environ[name] = env.get(name) or default
    # Its download progress bars would clutter promoter's log and a CI job's.
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"


def open_client(uri: str) -> MlflowClient:
    """MLflow's client for ``uri`` (imported here: only MLflow users pay for it)."""
    import mlflow

    # Artifact URIs a server hands out (mlflow-artifacts:/...) are resolved against MLflow's
    # process-wide tracking URI, not the client's: both must name the same server.
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri)


@contextmanager
def talking_to(uri: str) -> Iterator[None]:
    """Turn MLflow's and the network's failures into one line (exit 1)."""
    import requests
    from mlflow.exceptions import MlflowException, RestException

    try:
        yield
    except RestException as e:
        code = str(e.error_code)
        if code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            raise PromoterError(DENIED.format(uri=uri, reason=code)) from None
        raise PromoterError(f"MLflow at {uri}: {_first_line(e.message)}") from None
    except MlflowException as e:
        denied = _DENIED_STATUS.search(e.message)
        if denied:
            raise PromoterError(DENIED.format(uri=uri, reason=f"HTTP {denied[1]}")) from None
        reason = _network_cause(e.message)
        if reason is not None:
            raise _unreachable(uri, reason) from None
        raise PromoterError(f"MLflow at {uri}: {_first_line(e.message)}") from None
    except requests.RequestException as e:
        raise _unreachable(uri, _network_cause(str(e)) or type(e).__name__) from None


def resolve_experiments(
    client: MlflowClient, uri: str, names: tuple[str, ...], origin: tuple[str, str | None]
) -> dict[str, str]:
    """Experiment id -> name for each name; an unknown or deleted one is a usage error
    naming it and listing the experiments that exist."""
    found: dict[str, str] = {}
    with talking_to(uri):
        for name in names:
            experiment = client.get_experiment_by_name(name)
            if experiment is None or experiment.lifecycle_stage != "active":
                known = sorted(e.name for e in client.search_experiments())
                reason = NO_EXPERIMENT.format(name=name, uri=uri, known=", ".join(known) or "none")
                path, key = origin
                raise ConfigError(path, key, reason) if key else UsageError(f"{path}: {reason}")
            found[experiment.experiment_id] = experiment.name
    return found


def _unreachable(uri: str, reason: str) -> PromoterError:
    return PromoterError(
        UNREACHABLE.format(
            uri=uri,
            reason=reason,
            retries=os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "?"),
            timeout=os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "?"),
        )
    )


def _network_cause(message: str) -> str | None:
    """The network failure in a message of MLflow's client, if it is one."""
    if "Max retries exceeded" not in message and "timed out" not in message.lower():
        return None
    m = _CAUSE.search(message)
    if m is None:
        return "timed out" if "timed out" in message.lower() else "no answer"
    return next(g for g in m.groups() if g).strip().lower()


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["unknown error"])[0][:300]
