"""GitLab CI's variables and the webhook payload of a triggered pipeline, read once at the
edge into one neutral :class:`~promoter.triggers.events.Trigger`.

Routes (SPEC, "GitLab CI"): ``schedule`` is the nightly; ``web``, ``api``, ``pipeline`` and a
``trigger`` without a payload are a dispatch with ``PROMOTER_*`` variables; a ``trigger``
whose ``TRIGGER_PAYLOAD`` holds a note event (a project webhook on Comments pointed at the
pipeline trigger URL) is a command; ``push`` is a push (after a merge into ``pr.base``: the
registration); anything else is ignored, with one line saying why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from promoter.core.runids import RULE, parse_run_id
from promoter.errors import UsageError
from promoter.forges.base import CommentRef
from promoter.triggers.events import CommentTrigger, PushTrigger, Trigger, TriggerKind

SOURCES: Final = {
    "schedule": TriggerKind.SCHEDULE,
    "web": TriggerKind.DISPATCH,
    "api": TriggerKind.DISPATCH,
    "pipeline": TriggerKind.DISPATCH,
    "trigger": TriggerKind.DISPATCH,
    "push": TriggerKind.PUSH,
}
ACTIONS: Final = {"create": "created", "update": "edited"}
TRUE_WORDS: Final = frozenset({"true", "yes", "1", "on"})
FALSE_WORDS: Final = frozenset({"false", "no", "0", "off", ""})
MAX_OBJECTIVE: Final = 200

NO_SOURCE: Final = "CI_PIPELINE_SOURCE is not set: `promoter event` runs inside GitLab CI"
OTHER_SOURCE: Final = (
    "pipeline source {source!r} is not one promoter handles"
    " (schedule, web, api, pipeline, trigger, push)"
)
NOT_A_NOTE: Final = "the trigger's webhook payload is a {kind!r} event, not a note (a comment)"
SYSTEM_NOTE: Final = "the note is GitLab's own (a system note), not a comment"
NOT_ON_MR: Final = "the note is on a {kind}, and commands are read in merge requests only"
OTHER_PROJECT: Final = "the note is on project {theirs}, and this pipeline runs for {ours}"
BAD_PAYLOAD: Final = "TRIGGER_PAYLOAD {path}: {reason}"
BAD_NOTE: Final = "the note event has no {key}"
BAD_BOOLEAN: Final = "PROMOTER_DRY_RUN {value!r} is not true or false"
BAD_RUN: Final = "PROMOTER_RUN {value!r} is not a run id (" + RULE + ")"
BAD_COMMIT: Final = "{name} {value!r} is not a commit id"
SHA: Final = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
LONG_OBJECTIVE: Final = f"PROMOTER_OBJECTIVE is longer than {MAX_OBJECTIVE} characters"


@dataclass(frozen=True, slots=True)
class Variables:
    """The ``PROMOTER_*`` variables of a pipeline (the Run pipeline form, a schedule's, the
    project's), validated."""

    run: str | None = None
    dry_run: bool = False
    objective: str | None = None
    config: str | None = None
    guild_home: str | None = None


def variables(env: Mapping[str, str]) -> Variables:
    """``PROMOTER_RUN``, ``PROMOTER_DRY_RUN``, ``PROMOTER_OBJECTIVE``, ``PROMOTER_CONFIG``,
    ``PROMOTER_GUILD_HOME``; empty means unset."""

    def given(name: str) -> str | None:
        return env.get(name, "").strip() or None

    run = given("PROMOTER_RUN")
    if run is not None and parse_run_id(run) is None:
        raise UsageError(BAD_RUN.format(value=run[:60]))
    dry = (given("PROMOTER_DRY_RUN") or "").lower()
    if dry not in TRUE_WORDS | FALSE_WORDS:
        raise UsageError(BAD_BOOLEAN.format(value=dry[:60]))
    objective = given("PROMOTER_OBJECTIVE")
    if objective is not None and len(objective) > MAX_OBJECTIVE:
        raise UsageError(LONG_OBJECTIVE)
    return Variables(
        run=parse_run_id(run) if run else None,
        dry_run=dry in TRUE_WORDS,
        objective=objective,
        config=given("PROMOTER_CONFIG"),
        guild_home=given("PROMOTER_GUILD_HOME"),
    )


def load_payload(value: str | None) -> dict[str, Any] | None:
    """The webhook's JSON: ``TRIGGER_PAYLOAD`` names a file holding it (a file variable), or,
    set by hand as a plain variable, holds it; ``None`` when there is none."""
    if not value or not value.strip():
        return None
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(BAD_PAYLOAD.format(path=value, reason=e)) from e
        if not text.strip():
            return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(BAD_PAYLOAD.format(path="(value)", reason=f"not JSON: {e}")) from e
    if not isinstance(data, dict):
        raise UsageError(BAD_PAYLOAD.format(path="(value)", reason="not a JSON object"))
    return data


def read_trigger(env: Mapping[str, str], given: Variables) -> Trigger:
    """The trigger of this pipeline, from its variables and ``TRIGGER_PAYLOAD``."""
    source = env.get("CI_PIPELINE_SOURCE", "").strip()
    if not source:
        raise UsageError(NO_SOURCE)
    common: dict[str, Any] = {
        "event": source,
        "actor": env.get("GITLAB_USER_LOGIN") or None,
        "run_url": env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL") or None,
        "run": given.run,
        "objective": given.objective,
        "dry_run": given.dry_run,
    }
    kind = SOURCES.get(source)
    if kind is None:
        return Trigger(kind=TriggerKind.OTHER, ignored=OTHER_SOURCE.format(source=source), **common)
    if kind is TriggerKind.PUSH:
        return Trigger(kind=kind, push=push_of(env), **common)
    payload = load_payload(env.get("TRIGGER_PAYLOAD")) if source == "trigger" else None
    if payload is None:
        return Trigger(kind=kind, **common)
    event = str(payload.get("object_kind") or payload.get("event_type") or "unknown")
    common["event"] = f"{source}:{event}"
    if event != "note":
        return Trigger(kind=TriggerKind.OTHER, ignored=NOT_A_NOTE.format(kind=event), **common)
    comment, ignored = note_comment(payload, env.get("CI_PROJECT_ID", "").strip())
    return Trigger(kind=TriggerKind.COMMENT, comment=comment, ignored=ignored, **common)


def push_of(env: Mapping[str, str]) -> PushTrigger:
    """A push pipeline's ref and commits: ``CI_COMMIT_TAG`` or ``CI_COMMIT_BRANCH``,
    ``CI_COMMIT_BEFORE_SHA`` (all zeros for a new branch) and ``CI_COMMIT_SHA``."""
    tag = env.get("CI_COMMIT_TAG", "").strip()
    branch = env.get("CI_COMMIT_BRANCH", "").strip()
    ref = f"refs/tags/{tag}" if tag else f"refs/heads/{branch}" if branch else ""
    return PushTrigger(
        ref=ref,
        before=_commit(env, "CI_COMMIT_BEFORE_SHA"),
        after=_commit(env, "CI_COMMIT_SHA"),
    )


def _commit(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip().lower()
    if not value:
        return None
    if not SHA.fullmatch(value):
        raise UsageError(BAD_COMMIT.format(name=name, value=value[:60]))
    return value


def note_comment(
    payload: Mapping[str, Any], project_id: str
) -> tuple[CommentTrigger | None, str | None]:
    """The comment in a note event, or why it is none: a system note, a note on a commit or
    a snippet, a note from another project. Edits stay comments (the handler ignores them)."""
    attributes = _mapping(payload, "object_attributes")
    if attributes.get("system") is True:
        return None, SYSTEM_NOTE
    noteable = str(attributes.get("noteable_type") or "")
    if noteable not in ("MergeRequest", "Issue"):
        return None, NOT_ON_MR.format(kind=_spaced(noteable) or "thing GitLab does not name")
    theirs = _mapping(payload, "project").get("id", payload.get("project_id"))
    if project_id and str(theirs) != project_id:
        return None, OTHER_PROJECT.format(theirs=theirs, ours=project_id)
    on_mr = noteable == "MergeRequest"
    # noteable_id is the MR's or issue's global id; notes and URLs take its iid.
    number = _integer(payload, "merge_request" if on_mr else "issue", "iid")
    action = str(attributes.get("action") or "create")  # before GitLab 16.11: no action
    comment = CommentTrigger(
        ref=CommentRef(number, _integer(payload, "object_attributes", "id"), on_mr),
        action=ACTIONS.get(action, action),
        body=_text(payload, "object_attributes", "note"),
        author=_text(payload, "user", "username"),
        by_bot=False,  # the payload does not say: the forge is asked (Forge.is_bot)
        on_pull_request=on_mr,
        url=str(attributes.get("url") or "") or None,
    )
    return comment, None


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _lookup(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = data
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _integer(data: Mapping[str, Any], *keys: str) -> int:
    value = _lookup(data, keys)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(BAD_NOTE.format(key=".".join(keys)))
    return value


def _text(data: Mapping[str, Any], *keys: str) -> str:
    value = _lookup(data, keys)
    if not isinstance(value, str):
        raise UsageError(BAD_NOTE.format(key=".".join(keys)))
    return value


def _spaced(name: str) -> str:
    """``MergeRequest`` -> ``merge request``, ``Commit`` -> ``commit``."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
