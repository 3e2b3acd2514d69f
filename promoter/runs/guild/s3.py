"""The S3 calls the remote run store makes, through botocore, each with a timeout and bounded
retries, and each failure turned into one line a user can act on.

botocore (not boto3: nothing here needs its resources or transfer manager) comes with
``dvc[s3]`` and is imported only when a remote store is opened. It reads the credentials
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, a web identity token for
OIDC), ``AWS_ENDPOINT_URL`` and ``AWS_DEFAULT_REGION`` as every AWS tool does.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from promoter.errors import ConfigError, PromoterError, UsageError
from promoter.runs.guild.remotes import S3Remote

T = TypeVar("T")

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
MAX_ATTEMPTS = 3
_CHUNK = 1 << 20
_DENIED = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "403",
        "AllAccessDisabled",
    }
)


@dataclass(frozen=True, slots=True)
class S3Object:
    """One object as a listing shows it."""

    key: str
    size: int
    etag: str


@dataclass
class Traffic:
    """What was fetched: object reads and their bytes, listing pages."""

    gets: int = 0
    bytes: int = 0
    pages: int = 0


class S3:
    """A bucket read through one botocore client (thread-safe; ``workers`` connections)."""

    def __init__(self, remote: S3Remote, env: Mapping[str, str], workers: int = 16) -> None:
        import botocore.session
        from botocore.config import Config

        self.remote = remote
        timeout = _seconds(env.get("PROMOTER_S3_TIMEOUT"))
        self.connect_timeout = timeout or CONNECT_TIMEOUT
        self.read_timeout = timeout or READ_TIMEOUT
        self.attempts = _count(env.get("AWS_MAX_ATTEMPTS")) or MAX_ATTEMPTS
        config = Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"max_attempts": self.attempts, "mode": "standard"},
            max_pool_connections=workers,
            # Guild's objects carry no checksums of their own; validating one per small
            # object only costs CPU.
            response_checksum_validation="when_required",
            request_checksum_calculation="when_required",
        )
        session = botocore.session.get_session()
        self._client: Any = session.create_client(
            "s3",
            region_name=remote.region or env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION"),
            endpoint_url=remote.endpoint_url,
            config=config,
        )
        self.endpoint = str(self._client.meta.endpoint_url)
        self.traffic = Traffic()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        """The object's bytes; ``None`` when there is no such key."""

        def fetch() -> bytes | None:
            response = self._get(key)
            return None if response is None else b"".join(_chunks(response))

        data = self._call("GetObject", key, fetch)
        if data is not None:
            self._count_get(len(data))
        return data

    def download(self, key: str, dest: Path) -> bool:
        """Write the object to ``dest`` (through a temporary file); False when it is gone."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".part-{threading.get_ident()}-{dest.name}")

        def fetch() -> int | None:
            response = self._get(key)
            if response is None:
                return None
            size = 0
            with part.open("wb") as out:
                for chunk in _chunks(response):
                    out.write(chunk)
                    size += len(chunk)
            return size

        try:
            size = self._call("GetObject", key, fetch)
            if size is None:
                return False
            part.replace(dest)
        finally:
            part.unlink(missing_ok=True)
        self._count_get(size)
        return True

    def list(self, prefix: str, start_after: str = "", stop_at: str = "") -> Iterator[S3Object]:
        """Objects under ``prefix`` in key order, after ``start_after`` and before ``stop_at``."""
        token: str | None = None
        while True:
            kwargs: dict[str, str] = {"Bucket": self.remote.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            elif start_after:
                kwargs["StartAfter"] = start_after
            page = self._call("ListObjectsV2", prefix, functools.partial(self._list_page, kwargs))
            with self._lock:
                self.traffic.pages += 1
            for item in page.get("Contents", ()):
                if stop_at and item["Key"] >= stop_at:
                    return
                yield S3Object(item["Key"], int(item["Size"]), str(item["ETag"]))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def _list_page(self, kwargs: dict[str, str]) -> Any:
        return self._client.list_objects_v2(**kwargs)

    def _get(self, key: str) -> Any:
        try:
            return self._client.get_object(Bucket=self.remote.bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            return None

    def _count_get(self, size: int) -> None:
        with self._lock:
            self.traffic.gets += 1
            self.traffic.bytes += size

    def _call(self, operation: str, key: str, call: Callable[[], T]) -> T:
        """``call()``, with botocore's failures as promoter's errors."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        remote = self.remote
        try:
            return call()
        except (NoCredentialsError, PartialCredentialsError) as e:
            raise UsageError(
                f"{remote.described}: no AWS credentials ({e}); set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or a role (OIDC)"
            ) from None
        except ClientError as e:
            error = e.response.get("Error", {})
            code = str(error.get("Code", "")) or "unknown"
            if code == "NoSuchBucket":
                raise ConfigError(
                    remote.origin,
                    remote.bucket_key,
                    f"bucket {remote.bucket!r} does not exist at {self.endpoint}",
                ) from None
            if code in _DENIED:
                raise UsageError(
                    f"{remote.described}: S3 at {self.endpoint} refused access ({code}): "
                    "check the credentials and the bucket's policy"
                ) from None
            message = str(error.get("Message", "")) or str(e)
            raise PromoterError(
                f"{remote.described}: {operation} {key} failed: {code}: {message}"
            ) from None
        except (ConnectionError, HTTPClientError) as e:
            raise PromoterError(
                f"{remote.described}: S3 endpoint {self.endpoint} did not answer "
                f"({type(e).__name__}; {self.attempts} attempts, {self.connect_timeout:g} s to "
                f"connect, {self.read_timeout:g} s to read)"
            ) from None
        except BotoCoreError as e:
            raise PromoterError(f"{remote.described}: {operation} {key} failed: {e}") from None


def _chunks(response: Any) -> Iterator[bytes]:
    body = response["Body"]
    while True:
        chunk: bytes = body.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value and value > 0 else None


def _count(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and int(text) > 0 else None
