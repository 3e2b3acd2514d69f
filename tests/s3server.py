"""A real S3-compatible server on loopback (moto's ``moto_server``) for tests and benchmarks,
filled by real ``guild push`` (which runs the ``aws`` command), and moto's request recorder to
see what a client fetched."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

BIN = Path(sys.executable).parent


def moto_exe() -> str | None:
    """``moto_server`` beside this Python, else on PATH."""
    beside = BIN / "moto_server"
    return str(beside) if beside.exists() else shutil.which("moto_server")


def aws_exe() -> str | None:
    """The ``aws`` command beside this Python, else on PATH."""
    beside = BIN / "aws"
    return str(beside) if beside.exists() else shutil.which("aws")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class S3Server:
    """A running ``moto_server`` and the environment that points AWS tools at it."""

    endpoint: str
    process: subprocess.Popen[bytes]
    home: Path
    recording: Path
    env: dict[str, str] = field(default_factory=dict)

    def aws(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run the ``aws`` command against the server; returns its stdout."""
        exe = aws_exe()
        assert exe, "awscli is not installed"
        done = subprocess.run(
            [exe, *args],
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def make_bucket(self, name: str) -> None:
        self.aws("s3api", "create-bucket", "--bucket", name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key of ``bucket`` under ``prefix``."""
        out = self.aws("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix)
        return [o["Key"] for o in json.loads(out or "{}").get("Contents", [])]

    def _api(self, action: str) -> bytes:
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/recorder/{action}", data=b"", method="POST"
        )
        if action == "download-recording":
            request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{action}")
        with urllib.request.urlopen(request, timeout=30) as response:
            data: bytes = response.read()
            return data

    @contextmanager
    def record(self) -> Iterator[list[tuple[str, str]]]:
        """The requests made inside the block, as (method, path with query) in order."""
        seen: list[tuple[str, str]] = []
        self._api("reset-recording")
        self._api("start-recording")
        try:
            yield seen
        finally:
            self._api("stop-recording")
            for line in self._api("download-recording").decode().splitlines():
                entry = json.loads(line)
                url = urlparse(entry["url"])
                path = unquote(url.path) + (f"?{url.query}" if url.query else "")
                seen.append((entry["method"], path))


def object_gets(requests: list[tuple[str, str]], bucket: str) -> list[str]:
    """The keys of ``bucket`` read by GET (not listings) among recorded requests."""
    prefix = f"/{bucket}/"
    return [
        path[len(prefix) :]
        for method, path in requests
        if method == "GET" and path.startswith(prefix) and "?" not in path
    ]


def aws_env(home: Path, endpoint: str) -> dict[str, str]:
    """Dummy credentials and the endpoint; no instance metadata, no real AWS config."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
    }


@contextmanager
def s3_server(work: Path) -> Iterator[S3Server]:
    """``moto_server`` on a free loopback port, stopped (and waited for) on exit."""
    exe = moto_exe()
    assert exe, "moto[server] is not installed"
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    recording = work / "moto-recording.jsonl"
    log = (work / "moto.log").open("wb")
    env = {**os.environ, "MOTO_RECORDER_FILEPATH": str(recording)}
    process = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(endpoint, process)
        home = work / "home"
        home.mkdir(exist_ok=True)
        server = S3Server(endpoint, process, home, recording, aws_env(home, endpoint))
        server.env["HOME"] = str(home)
        server.env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"moto_server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("moto_server did not start within 60 s")


def write_guild_config(path: Path, remotes: dict[str, dict[str, str]]) -> Path:
    """A Guild user config with ``remotes``."""
    lines = ["remotes:"]
    for name, spec in remotes.items():
        lines.append(f"  {name}:")
        lines += [f"    {k}: {json.dumps(v)}" for k, v in spec.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def guild_on_s3(project: Path, home: Path, server: S3Server, config: Path, *args: str) -> str:
    """Run ``guild`` in ``project`` on ``home``, its user config ``config`` (the remotes),
    the AWS tools pointed at ``server``; returns stdout, raises with its output on failure."""
    from tests.guildrun import guild_env, guild_exe

    exe = guild_exe()
    if exe is None:
        raise AssertionError("guild is not installed")
    env = {**guild_env(home), **server.env, "GUILD_CONFIG": str(config)}
    done = subprocess.run(
        [exe, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"guild {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout
