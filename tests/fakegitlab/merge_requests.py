"""Merge requests: list with filters, get, create with GitLab's checks, update, close, reopen.

Status codes and messages are GitLab's (``handle_merge_request_errors!`` in lib/api, and answers
recorded from gitlab.com): a second open MR for the same source and target branch is 409
``["Another open merge request already exists for this source branch: !N"]``, the same branch for
both is 422, a model validation failure (a source branch that does not exist, a description over
1,048,576 characters) is 400 ``{"field": ["message"]}``.
"""

from __future__ import annotations

import dataclasses

from tests.fakegitlab import issuable_shapes as shapes
from tests.fakegitlab.api import (
    ApiError,
    Ctx,
    P,
    Reply,
    can_read,
    invalid,
    not_found,
    require_level,
    route,
)
from tests.fakegitlab.model import DEVELOPER, REPORTER, MergeRequest, Project, now

MAX_TITLE = 255
MAX_DESCRIPTION = 1_048_576  # Issuable::DESCRIPTION_LENGTH_MAX
SAME_BRANCH = "You can't use same project/branch for source and target"
CONFLICT = "Another open merge request already exists for this source branch: !{iid}"
STATES = ("opened", "closed", "locked", "merged", "all")
# The parameters of an update: GitLab needs at least one of them.
_UPDATE_NAMES = """add_labels assignee_id assignee_ids description discussion_locked labels
milestone_id remove_labels remove_source_branch reviewer_ids squash state_event target_branch
title"""
UPDATE_PARAMS = tuple(_UPDATE_NAMES.split())


@route("GET", P + "/merge_requests")
def list_merge_requests(ctx: Ctx, project: Project) -> Reply:
    """Filters: ``state`` (default all), ``source_branch``, ``target_branch``, ``labels`` (all of
    them), ``iids[]``, ``author_id``, ``wip``, ``search``; ``order_by`` and ``sort`` (newest
    first by default); ``view=simple`` for the short shape."""
    state = ctx.choice("state", STATES, "all")
    order = ctx.choice("order_by", ("created_at", "updated_at", "title"), "created_at")
    descending = ctx.choice("sort", ("asc", "desc"), "desc") == "desc"
    mrs = [mr for mr in project.merge_requests.values() if state in ("all", mr.state)]
    for key in ("source_branch", "target_branch"):
        if ctx.has(key):
            mrs = [mr for mr in mrs if getattr(mr, key) == ctx.text(key)]
    labels = ctx.strings("labels")
    if labels:
        mrs = [mr for mr in mrs if set(labels) <= set(mr.labels)]
    iids = ctx.integers("iids[]") or ctx.integers("iids")
    if iids:
        mrs = [mr for mr in mrs if mr.iid in iids]
    author_id = ctx.integer("author_id")
    if author_id is not None:
        mrs = [mr for mr in mrs if mr.author_id == author_id]
    wip = ctx.choice("wip", ("yes", "no"))
    if wip:
        mrs = [mr for mr in mrs if mr.draft == (wip == "yes")]
    search = (ctx.text("search") or "").lower()
    mrs = [mr for mr in mrs if search in f"{mr.title}\n{mr.description or ''}".lower()]
    mrs.sort(key=lambda mr: (getattr(mr, order), mr.id), reverse=descending)
    if ctx.text("view") == "simple":
        return ctx.paginate([_simple(ctx, project, mr) for mr in mrs])
    return ctx.paginate([shapes.merge_request_json(ctx.urls, ctx.state, project, mr) for mr in mrs])


@route("GET", P + "/merge_requests/{iid:int}")
def get_merge_request(ctx: Ctx, project: Project, iid: int) -> Reply:
    mr = merge_request_of(project, iid)
    return Reply(200, shapes.merge_request_json(ctx.urls, ctx.state, project, mr, single=True))


@route("POST", P + "/merge_requests")
def create_merge_request(ctx: Ctx, project: Project) -> Reply:
    require_level(ctx, project, DEVELOPER)
    missing = [n for n in ("title", "source_branch", "target_branch") if not ctx.has(n)]
    if missing:  # Grape names every missing parameter at once
        raise ApiError(400, ", ".join(f"{n} is missing" for n in missing), key="error")
    mr = MergeRequest(
        iid=0,
        id=0,
        title=ctx.text("title") or "",
        author_id=ctx.me.id,
        source_branch=ctx.text("source_branch") or "",
        target_branch=ctx.text("target_branch") or "",
        description=ctx.text("description"),
    )
    _apply(ctx, project, mr)
    _check(project, mr, branches=("source_branch", "target_branch"))
    mr.iid = max(project.merge_requests, default=0) + 1
    mr.id = ctx.state.next_id()
    mr.last_sha = project.branch_sha(mr.source_branch)
    project.merge_requests[mr.iid] = mr
    return Reply(201, shapes.merge_request_json(ctx.urls, ctx.state, project, mr, single=True))


@route("PUT", P + "/merge_requests/{iid:int}")
def update_merge_request(ctx: Ctx, project: Project, iid: int) -> Reply:
    """Changes are checked on a copy and kept only when all of them are valid, as GitLab saves
    a merge request whole; ``state_event`` is ``close`` or ``reopen``."""
    mr = merge_request_of(project, iid)
    if mr.author_id != ctx.me.id:
        require_level(ctx, project, DEVELOPER)
    if not any(ctx.has(name) for name in UPDATE_PARAMS):
        names = ", ".join(UPDATE_PARAMS)
        raise ApiError(
            400, f"{names} are missing, at least one parameter must be provided", key="error"
        )
    changed = dataclasses.replace(
        mr,
        labels=list(mr.labels),
        assignee_ids=list(mr.assignee_ids),
        reviewer_ids=list(mr.reviewer_ids),
    )
    changed.title = ctx.text("title", blank=False) or mr.title
    if ctx.has("description"):
        changed.description = ctx.text("description")
    changed.target_branch = ctx.text("target_branch", blank=False) or mr.target_branch
    if ctx.has("discussion_locked"):
        changed.discussion_locked = ctx.flag("discussion_locked")
    _apply(ctx, project, changed)
    event = ctx.choice("state_event", ("close", "reopen"))
    if event == "close" and mr.state == "opened":
        changed.state, changed.closed_at, changed.closed_by_id = "closed", now(), ctx.me.id
    elif event == "reopen" and mr.state == "closed":
        changed.state, changed.closed_at, changed.closed_by_id = "opened", None, None
    moved = ("target_branch",) if changed.target_branch != mr.target_branch else ()
    _check(project, changed, branches=moved)
    changed.touch()
    for name in (f.name for f in dataclasses.fields(mr)):  # keep the caller's MR object
        setattr(mr, name, getattr(changed, name))
    return Reply(200, shapes.merge_request_json(ctx.urls, ctx.state, project, mr, single=True))


def merge_request_of(project: Project, iid: int) -> MergeRequest:
    """Merge request ``iid`` (the project-scoped number in ``!iid``), else ``404 Not found``."""
    if iid not in project.merge_requests:
        raise not_found()
    return project.merge_requests[iid]


def _apply(ctx: Ctx, project: Project, mr: MergeRequest) -> None:
    """Labels (made on the project when new), assignees, reviewers, branch removal, squash.
    Users who cannot read the merge request are dropped without an error, as GitLab does."""
    labels = ctx.strings("labels")
    if labels is not None:
        mr.labels = list(dict.fromkeys(labels))
    mr.labels += [name for name in ctx.strings("add_labels") or [] if name not in mr.labels]
    gone = set(ctx.strings("remove_labels") or [])
    mr.labels = [name for name in mr.labels if name not in gone]
    for name in mr.labels:
        ctx.state.ensure_label(project, name)
    if ctx.has("assignee_id"):
        mr.assignee_ids = _readers(ctx, project, [ctx.integer("assignee_id") or 0])
    if ctx.has("assignee_ids"):
        mr.assignee_ids = _readers(ctx, project, ctx.integers("assignee_ids") or [])
    if ctx.has("reviewer_ids"):
        mr.reviewer_ids = _readers(ctx, project, ctx.integers("reviewer_ids") or [])
    if ctx.has("remove_source_branch"):
        mr.force_remove_source_branch = bool(ctx.flag("remove_source_branch"))
    if ctx.has("squash"):
        mr.squash = bool(ctx.flag("squash"))


def _readers(ctx: Ctx, project: Project, ids: list[int]) -> list[int]:
    users = [ctx.state.users.get(i) for i in dict.fromkeys(ids)]
    return [
        u.id
        for u in users
        if u is not None
        and can_read(u, project)
        and (project.visibility == "public" or project.access_level(u) >= REPORTER)
    ]


def _check(project: Project, mr: MergeRequest, *, branches: tuple[str, ...]) -> None:
    """GitLab's validations, in the order its API reports them."""
    if mr.source_branch == mr.target_branch:
        raise ApiError(422, [SAME_BRANCH])
    if mr.state == "opened":
        for other in project.merge_requests.values():
            same = (other.source_branch, other.target_branch) == (
                mr.source_branch,
                mr.target_branch,
            )
            if other.id != mr.id and other.state == "opened" and same:
                raise ApiError(409, [CONFLICT.format(iid=other.iid)])
    errors: dict[str, list[str]] = {}
    for key in branches:
        if project.branch_sha(getattr(mr, key)) is None:
            errors[key] = ["does not exist"]
    if len(mr.title) > MAX_TITLE:
        errors["title"] = [f"is too long (maximum is {MAX_TITLE} characters)"]
    if mr.description is not None and len(mr.description) > MAX_DESCRIPTION:
        errors["description"] = [f"is too long (maximum is {MAX_DESCRIPTION} characters)"]
    if errors:
        raise invalid(errors)


def _simple(ctx: Ctx, project: Project, mr: MergeRequest) -> dict[str, object]:
    """``view=simple``: GitLab's MergeRequestSimple."""
    full = shapes.merge_request_json(ctx.urls, ctx.state, project, mr)
    keys = "id iid project_id title description state created_at updated_at web_url"
    return {key: full[key] for key in keys.split()}
