"""Issues (read only), notes on merge requests and issues, and award emoji on all three.

Notes longer than GitLab's 1,000,000 characters are refused with GitLab's 400 message; a second
award of the same emoji by the same user is GitLab's 404 ``Award Emoji Name has already been
taken`` (a unique key in GitLab's database, not an idempotent 200 as on GitHub).
"""

from __future__ import annotations

from tests.fakegitlab import issuable_shapes as shapes
from tests.fakegitlab.api import (
    ApiError,
    Ctx,
    P,
    Reply,
    forbidden,
    not_found,
    route,
    unauthorized,
)
from tests.fakegitlab.merge_requests import merge_request_of
from tests.fakegitlab.model import EMOJI_ALIASES, AwardEmoji, Issue, MergeRequest, Note, Project
from tests.fakegitlab.model import now as timestamp

MAX_NOTE = 1_000_000  # Note's validation: note, length maximum 1,000,000
NOTE_TOO_LONG = (
    f'400 Bad request - Note {{:note=>["is too long (maximum is {MAX_NOTE} characters)"]}}'
)
AWARD_TAKEN = "404 Award Emoji Name has already been taken Not Found"
AWARD_UNKNOWN = "404 Award Emoji Name is not a valid emoji name Not Found"
KINDS = {"merge_requests": "MergeRequest", "issues": "Issue"}
NOTEABLE = P + "/{kind:noteable}/{iid:int}"


# --- issues ------------------------------------------------------------------------------------


@route("GET", P + "/issues")
def list_issues(ctx: Ctx, project: Project) -> Reply:
    state = ctx.choice("state", ("opened", "closed", "all"), "all")
    issues = [i for i in project.issues.values() if state in ("all", i.state)]
    issues.sort(key=lambda i: i.id, reverse=True)
    return ctx.paginate([shapes.issue_json(ctx.urls, ctx.state, project, i) for i in issues])


@route("GET", P + "/issues/{iid:int}")
def get_issue(ctx: Ctx, project: Project, iid: int) -> Reply:
    issue = _noteable(project, "issues", iid)
    assert isinstance(issue, Issue)
    return Reply(200, shapes.issue_json(ctx.urls, ctx.state, project, issue))


# --- notes -------------------------------------------------------------------------------------


@route("GET", NOTEABLE + "/notes")
def list_notes(ctx: Ctx, project: Project, kind: str, iid: int) -> Reply:
    """Newest first unless ``sort=asc``; ``order_by`` is ``created_at`` or ``updated_at``."""
    _noteable(project, kind, iid)
    order = ctx.choice("order_by", ("created_at", "updated_at"), "created_at")
    descending = ctx.choice("sort", ("asc", "desc"), "desc") == "desc"
    notes = project.notes_on(KINDS[kind], iid)
    notes.sort(key=lambda n: (getattr(n, order), n.id), reverse=descending)
    return ctx.paginate([shapes.note_json(ctx.urls, ctx.state, project, n) for n in notes])


@route("GET", NOTEABLE + "/notes/{note_id:int}")
def get_note(ctx: Ctx, project: Project, kind: str, iid: int, note_id: int) -> Reply:
    note = _note(project, kind, iid, note_id)
    return Reply(200, shapes.note_json(ctx.urls, ctx.state, project, note))


@route("POST", NOTEABLE + "/notes")
def create_note(ctx: Ctx, project: Project, kind: str, iid: int) -> Reply:
    on = _noteable(project, kind, iid)
    body = _body(ctx)
    note = Note(ctx.state.next_id(), KINDS[kind], iid, ctx.me.id, body)
    note.internal = bool(ctx.flag("internal") or ctx.flag("confidential"))
    project.notes[note.id] = note
    on.touch()
    return Reply(201, shapes.note_json(ctx.urls, ctx.state, project, note))


@route("PUT", NOTEABLE + "/notes/{note_id:int}")
def edit_note(ctx: Ctx, project: Project, kind: str, iid: int, note_id: int) -> Reply:
    """Only a note's author may edit it (GitLab answers 403 to anyone else)."""
    note = _note(project, kind, iid, note_id)
    if note.author_id != ctx.me.id or note.system:
        raise forbidden()
    note.body, note.updated_at = _body(ctx), timestamp()
    return Reply(200, shapes.note_json(ctx.urls, ctx.state, project, note))


@route("DELETE", NOTEABLE + "/notes/{note_id:int}")
def delete_note(ctx: Ctx, project: Project, kind: str, iid: int, note_id: int) -> Reply:
    note = _note(project, kind, iid, note_id)
    if note.author_id != ctx.me.id:
        raise forbidden()
    del project.notes[note.id]
    return Reply(204)


# --- award emoji: on a merge request or issue, and on one of its notes ----------------------


@route("GET", NOTEABLE + "/award_emoji")
@route("GET", NOTEABLE + "/notes/{note_id:int}/award_emoji")
def list_awards(
    ctx: Ctx, project: Project, kind: str, iid: int, note_id: int | None = None
) -> Reply:
    awards = _awardable(project, kind, iid, note_id).awards
    return ctx.paginate([shapes.award_json(ctx.urls, ctx.state, a) for a in awards])


@route("GET", NOTEABLE + "/award_emoji/{award_id:int}")
@route("GET", NOTEABLE + "/notes/{note_id:int}/award_emoji/{award_id:int}")
def get_award(
    ctx: Ctx, project: Project, kind: str, iid: int, award_id: int, note_id: int | None = None
) -> Reply:
    award = _award(_awardable(project, kind, iid, note_id).awards, award_id)
    return Reply(200, shapes.award_json(ctx.urls, ctx.state, award))


@route("POST", NOTEABLE + "/award_emoji")
@route("POST", NOTEABLE + "/notes/{note_id:int}/award_emoji")
def award(ctx: Ctx, project: Project, kind: str, iid: int, note_id: int | None = None) -> Reply:
    target = _awardable(project, kind, iid, note_id)
    name = ctx.text("name", required=True) or ""
    name = EMOJI_ALIASES.get(name, name)
    if name not in ctx.state.emoji:
        raise ApiError(404, AWARD_UNKNOWN)
    if any(a.user_id == ctx.me.id and a.name == name for a in target.awards):
        raise ApiError(404, AWARD_TAKEN)
    kind_name = "Note" if isinstance(target, Note) else KINDS[kind]
    made = AwardEmoji(ctx.state.next_id(), name, ctx.me.id, kind_name, target.id)
    target.awards.append(made)
    return Reply(201, shapes.award_json(ctx.urls, ctx.state, made))


@route("DELETE", NOTEABLE + "/award_emoji/{award_id:int}")
@route("DELETE", NOTEABLE + "/notes/{note_id:int}/award_emoji/{award_id:int}")
def remove_award(
    ctx: Ctx, project: Project, kind: str, iid: int, award_id: int, note_id: int | None = None
) -> Reply:
    """Only the user who gave an award may take it back (GitLab: 401 for anyone else)."""
    target = _awardable(project, kind, iid, note_id)
    found = _award(target.awards, award_id)
    if found.user_id != ctx.me.id and not ctx.me.admin:
        raise unauthorized()
    target.awards.remove(found)
    return Reply(204)


# --- helpers ------------------------------------------------------------------------------------


def _noteable(project: Project, kind: str, iid: int) -> MergeRequest | Issue:
    if kind == "merge_requests":
        return merge_request_of(project, iid)
    if iid not in project.issues:
        raise not_found()
    return project.issues[iid]


def _note(project: Project, kind: str, iid: int, note_id: int) -> Note:
    _noteable(project, kind, iid)
    note = project.notes.get(note_id)
    if note is None or (note.noteable_type, note.noteable_iid) != (KINDS[kind], iid):
        raise not_found()
    return note


def _awardable(
    project: Project, kind: str, iid: int, note_id: int | None
) -> MergeRequest | Issue | Note:
    if note_id is None:
        return _noteable(project, kind, iid)
    return _note(project, kind, iid, note_id)


def _award(awards: list[AwardEmoji], award_id: int) -> AwardEmoji:
    found = next((a for a in awards if a.id == award_id), None)
    if found is None:
        raise not_found()
    return found


def _body(ctx: Ctx) -> str:
    body = ctx.text("body", required=True, blank=False) or ""
    if len(body) > MAX_NOTE:
        raise ApiError(400, NOTE_TOO_LONG)
    return body
