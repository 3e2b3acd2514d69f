"""Git over HTTP for projects backed by a bare repository: clone, fetch and push with a token in
the URL, as a CI job does (``http://oauth2:<token>@host/<path>.git``, or
``gitlab-ci-token:<CI_JOB_TOKEN>``), at the project's ``http_url_to_repo``.

``git http-backend`` (git's own CGI program) speaks the protocol; this module only checks the
credentials and the caller's access, as GitLab does: Reporters and up read, Developers and up
push, a CI job token only reads, anyone reads a public project, a private one is hidden (404)
from who may not read it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess

from tests.fakegitlab.api import Reply, can_read
from tests.fakegitlab.model import DEVELOPER, REPORTER, Project, User
from tests.fakegitlab.recording import RecordedRequest
from tests.fakegitlab.state import State

ROUTE = re.compile(
    r"^/(?P<path>.+?)\.git(?P<service>/info/refs|/git-upload-pack|/git-receive-pack)$"
)
JOB_USER = "gitlab-ci-token"  # the user name that goes with CI_JOB_TOKEN
DENIED = "HTTP Basic: Access denied\n"
NO_PUSH = "You are not allowed to push code to this project.\n"
NOT_FOUND = "The project you were looking for could not be found.\n"


def is_git(route: str) -> bool:
    """Whether ``route`` (a path after the instance's relative root) is a git HTTP request."""
    return ROUTE.match(route) is not None


def serve(state: State, record: RecordedRequest) -> Reply:
    """Check who asks for what, then let ``git http-backend`` answer."""
    match = ROUTE.match(record.route)
    assert match is not None
    service = match["service"][1:]
    if service == "info/refs":
        service = (record.query.get("service") or [""])[-1]
    with state.lock:
        project = state.find_project(match["path"])
        refused = _refusal(state, record, project, push=service == "git-receive-pack")
        bare = project.bare if project else None
    if refused is not None:
        return refused
    return _backend(record, str(bare), match["service"])


def _refusal(
    state: State, record: RecordedRequest, project: Project | None, *, push: bool
) -> Reply | None:
    """The answer that refuses this request, or None when it may go on."""
    user, job, denied = _credentials(state, record)
    if denied:
        return _ask_for_credentials()
    record.user = user.username if user else None
    if project is None or project.bare is None:
        return Reply(404, NOT_FOUND, {"Content-Type": "text/plain"})
    public = project.visibility == "public"
    if user is None:
        return None if public and not push else _ask_for_credentials()
    level = project.access_level(user)
    if not can_read(user, project) or (not public and level < REPORTER):
        return Reply(404, NOT_FOUND, {"Content-Type": "text/plain"})
    if push and (job or level < DEVELOPER):
        return Reply(403, NO_PUSH, {"Content-Type": "text/plain"})
    return None


def _credentials(state: State, record: RecordedRequest) -> tuple[User | None, bool, bool]:
    """(user, came with a job token, credentials given but wrong) from HTTP Basic."""
    scheme, _, encoded = (record.header("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None, False, False
    try:
        name, _, token = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, False, True
    job = name == JOB_USER
    user_id = (state.job_tokens if job else state.tokens).get(token)
    return state.users.get(user_id or 0), job, user_id is None


def _ask_for_credentials() -> Reply:
    """401 with the challenge git answers by sending the URL's user and password."""
    return Reply(
        401, DENIED, {"Content-Type": "text/plain", "WWW-Authenticate": 'Basic realm="GitLab"'}
    )


def _backend(record: RecordedRequest, bare: str, path_info: str) -> Reply:
    """Run ``git http-backend`` on the bare repository and turn its CGI answer into a reply."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": bare,
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "REQUEST_METHOD": record.method,
        "QUERY_STRING": "&".join(f"{k}={v}" for k, vs in record.query.items() for v in vs),
        "CONTENT_TYPE": record.header("Content-Type") or "",
        "CONTENT_LENGTH": str(len(record.raw_body)),
        "HTTP_CONTENT_ENCODING": record.header("Content-Encoding") or "",
        "GIT_PROTOCOL": record.header("Git-Protocol") or "",
        "REMOTE_USER": record.user or "",  # http-backend allows pushes only from a known user
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": bare,
    }
    done = subprocess.run(
        ["git", "http-backend"], input=record.raw_body, env=env, capture_output=True, check=False
    )
    head, body = _split_cgi(done.stdout)
    headers = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    status = int(headers.pop("Status", "200").split()[0])
    return Reply(status, body, headers)


def _split_cgi(out: bytes) -> tuple[str, bytes]:
    """CGI output: header lines, a blank line, then the body (binary: left as it is)."""
    found = [(out.find(sep), len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if sep in out]
    if not found:
        return out.decode("latin-1"), b""
    at, size = min(found)
    return out[:at].decode("latin-1"), out[at + size :]
