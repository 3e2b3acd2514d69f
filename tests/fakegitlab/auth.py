"""Who is calling the fake GitLab: a token in ``PRIVATE-TOKEN``, ``Authorization: Bearer`` or
``JOB-TOKEN``, or nobody."""

from __future__ import annotations

from tests.fakegitlab import api
from tests.fakegitlab.model import User
from tests.fakegitlab.recording import RecordedRequest
from tests.fakegitlab.state import State


def caller(state: State, record: RecordedRequest) -> tuple[User | None, str | None]:
    """The caller and how they came: ``PRIVATE-TOKEN`` or ``Authorization: Bearer`` (a
    personal, project or OAuth token), ``JOB-TOKEN``, or nobody. A token that is given but
    unknown is 401, whatever the endpoint."""
    private, job = record.header("PRIVATE-TOKEN"), record.header("JOB-TOKEN")
    scheme, _, bearer = (record.header("Authorization") or "").partition(" ")
    if private is not None:
        user_id, kind = state.tokens.get(private.strip()), "private"
    elif scheme:
        token = bearer.strip() if scheme.lower() == "bearer" else ""
        user_id, kind = state.tokens.get(token), "oauth"
    elif job is not None:
        user_id, kind = state.job_tokens.get(job.strip()), "job"
    else:
        return None, None
    if user_id is None or user_id not in state.users:
        raise api.unauthorized()
    return state.users[user_id], kind
