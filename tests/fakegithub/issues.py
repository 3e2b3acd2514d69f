"""Issues (pull requests included): state, labels, assignees, comments, reactions."""

from __future__ import annotations

from typing import Any

from tests.fakegithub import shapes
from tests.fakegithub.api import (
    DOCS,
    REPO,
    ApiError,
    Ctx,
    Reply,
    check_body,
    invalid,
    issue_of,
    not_found,
    route,
    set_state,
)
from tests.fakegithub.shapes import Json
from tests.fakegithub.state import REACTIONS, Comment, Issue, Reaction, Repo, now

# --- issues: state, labels, assignees ---------------------------------------------------------


@route("GET", REPO + "/issues/{number:int}")
def get_issue(ctx: Ctx, repo: Repo, number: int) -> Reply:
    return Reply(200, shapes.issue_json(ctx.urls, ctx.state, repo, issue_of(repo, number)))


@route("PATCH", REPO + "/issues/{number:int}")
def edit_issue(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue = issue_of(repo, number)
    title, body = ctx.field("title", str), ctx.field("body", str)
    state, reason = ctx.field("state", str), ctx.field("state_reason", str)
    labels, assignees = ctx.field("labels", list), ctx.field("assignees", list)
    if state not in (None, "open", "closed"):
        raise invalid({"resource": "Issue", "code": "invalid", "field": "state"})
    check_body(body, "Issue")
    bad = [login for login in assignees or [] if not _assignable(repo, login)]
    if bad:
        raise invalid(
            {"resource": "Issue", "code": "invalid", "field": "assignees", "value": bad[0]}
        )
    if title is not None:
        issue.title = title
    if "body" in ctx.obj():
        issue.body = body
    if labels is not None:
        issue.labels = _label_names(ctx, repo, labels)
    if assignees is not None:
        issue.assignees = [_login(ctx, login) for login in dict.fromkeys(assignees)]
    set_state(issue, state, reason)
    return Reply(200, shapes.issue_json(ctx.urls, ctx.state, repo, issue))


@route("GET", REPO + "/issues/{number:int}/labels")
def list_issue_labels(ctx: Ctx, repo: Repo, number: int) -> Reply:
    return ctx.paginate(_labels(ctx, repo, issue_of(repo, number)))


@route("POST", REPO + "/issues/{number:int}/labels")
def add_labels(ctx: Ctx, repo: Repo, number: int) -> Reply:
    return _apply_labels(ctx, repo, issue_of(repo, number), replace=False)


@route("PUT", REPO + "/issues/{number:int}/labels")
def set_labels(ctx: Ctx, repo: Repo, number: int) -> Reply:
    return _apply_labels(ctx, repo, issue_of(repo, number), replace=True)


@route("DELETE", REPO + "/issues/{number:int}/labels")
def remove_all_labels(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue_of(repo, number).labels = []
    return Reply(204)


@route("DELETE", REPO + "/issues/{number:int}/labels/{label:path}")
def remove_label(ctx: Ctx, repo: Repo, number: int, label: str) -> Reply:
    issue = issue_of(repo, number)
    kept = [n for n in issue.labels if n.lower() != label.lower()]
    if len(kept) == len(issue.labels):
        raise ApiError(404, "Label does not exist", doc=f"{DOCS}/issues/labels")
    issue.labels = kept
    issue.touch()
    return Reply(200, _labels(ctx, repo, issue))


@route("POST", REPO + "/issues/{number:int}/assignees")
def add_assignees(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue = issue_of(repo, number)
    for login in ctx.field("assignees", list) or []:  # GitHub drops who cannot be assigned
        if _assignable(repo, login) and login.lower() not in map(str.lower, issue.assignees):
            issue.assignees.append(_login(ctx, login))
    issue.touch()
    return Reply(201, shapes.issue_json(ctx.urls, ctx.state, repo, issue))


@route("DELETE", REPO + "/issues/{number:int}/assignees")
def remove_assignees(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue = issue_of(repo, number)
    gone = {login.lower() for login in ctx.field("assignees", list) or []}
    issue.assignees = [login for login in issue.assignees if login.lower() not in gone]
    return Reply(200, shapes.issue_json(ctx.urls, ctx.state, repo, issue))


# --- comments and reactions -------------------------------------------------------------------


@route("GET", REPO + "/issues/{number:int}/comments")
def list_comments(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue_of(repo, number)
    comments = repo.comments_on(number)
    return ctx.paginate([shapes.comment_json(ctx.urls, ctx.state, repo, c) for c in comments])


@route("POST", REPO + "/issues/{number:int}/comments")
def create_comment(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue_of(repo, number)
    body = ctx.field("body", str, required=True)
    check_body(body, "IssueComment")
    comment = Comment(ctx.state.next_id(), number, ctx.user.login, body)
    repo.comments[comment.id] = comment
    repo.issues[number].touch()
    data = shapes.comment_json(ctx.urls, ctx.state, repo, comment)
    return Reply(201, data, {"Location": data["url"]})


@route("GET", REPO + "/issues/comments/{comment_id:int}")
def get_comment(ctx: Ctx, repo: Repo, comment_id: int) -> Reply:
    comment = _comment(repo, comment_id)
    return Reply(200, shapes.comment_json(ctx.urls, ctx.state, repo, comment))


@route("PATCH", REPO + "/issues/comments/{comment_id:int}")
def edit_comment(ctx: Ctx, repo: Repo, comment_id: int) -> Reply:
    comment = _comment(repo, comment_id)
    body = ctx.field("body", str, required=True)
    check_body(body, "IssueComment")
    comment.body, comment.updated_at = body, now()
    return Reply(200, shapes.comment_json(ctx.urls, ctx.state, repo, comment))


@route("DELETE", REPO + "/issues/comments/{comment_id:int}")
def delete_comment(ctx: Ctx, repo: Repo, comment_id: int) -> Reply:
    del repo.comments[_comment(repo, comment_id).id]
    return Reply(204)


@route("GET", REPO + "/issues/comments/{comment_id:int}/reactions")
def list_comment_reactions(ctx: Ctx, repo: Repo, comment_id: int) -> Reply:
    return _list_reactions(ctx, _comment(repo, comment_id).reactions)


@route("POST", REPO + "/issues/comments/{comment_id:int}/reactions")
def react_to_comment(ctx: Ctx, repo: Repo, comment_id: int) -> Reply:
    return _react(ctx, _comment(repo, comment_id).reactions)


@route("DELETE", REPO + "/issues/comments/{comment_id:int}/reactions/{reaction_id:int}")
def unreact_comment(ctx: Ctx, repo: Repo, comment_id: int, reaction_id: int) -> Reply:
    return _unreact(_comment(repo, comment_id).reactions, reaction_id)


@route("GET", REPO + "/issues/{number:int}/reactions")
def list_issue_reactions(ctx: Ctx, repo: Repo, number: int) -> Reply:
    return _list_reactions(ctx, issue_of(repo, number).reactions)


@route("POST", REPO + "/issues/{number:int}/reactions")
def react_to_issue(ctx: Ctx, repo: Repo, number: int) -> Reply:
    return _react(ctx, issue_of(repo, number).reactions)


@route("DELETE", REPO + "/issues/{number:int}/reactions/{reaction_id:int}")
def unreact_issue(ctx: Ctx, repo: Repo, number: int, reaction_id: int) -> Reply:
    return _unreact(issue_of(repo, number).reactions, reaction_id)


# --- helpers ------------------------------------------------------------------------------------


def _apply_labels(ctx: Ctx, repo: Repo, issue: Issue, *, replace: bool) -> Reply:
    """Labels given as a list or as ``{"labels": [...]}``, of names or ``{"name": ...}``."""
    given = ctx.body.get("labels") if isinstance(ctx.body, dict) else ctx.body
    if not isinstance(given, list):
        raise ApiError(422, 'Invalid request.\n\nNo subschema in "anyOf" matched.')
    names = _label_names(ctx, repo, given)
    if replace:
        issue.labels = names
    else:
        have = {name.lower() for name in issue.labels}
        issue.labels += [name for name in names if name.lower() not in have]
    issue.touch()
    return Reply(200, _labels(ctx, repo, issue))


def _assignable(repo: Repo, login: str) -> bool:
    return repo.role_of(login) is not None


def _login(ctx: Ctx, login: str) -> str:
    user = ctx.state.user(login)
    assert user is not None
    return user.login


def _label_names(ctx: Ctx, repo: Repo, given: list[Any]) -> list[str]:
    names = [item["name"] if isinstance(item, dict) else str(item) for item in given]
    return [ctx.state.ensure_label(repo, name).name for name in dict.fromkeys(names)]


def _labels(ctx: Ctx, repo: Repo, issue: Issue) -> list[Json]:
    return [shapes.label_json(ctx.urls, repo, repo.labels[n.lower()]) for n in issue.labels]


def _list_reactions(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    content = ctx.query.get("content")
    chosen = [r for r in reactions if content is None or r.content == content]
    return ctx.paginate([shapes.reaction_json(ctx.urls, ctx.state, r) for r in chosen])


def _react(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    content = ctx.field("content", str, required=True)
    if content not in REACTIONS:
        raise invalid({"resource": "Reaction", "code": "invalid", "field": "content"})
    for reaction in reactions:
        if reaction.user == ctx.user.login and reaction.content == content:
            return Reply(200, shapes.reaction_json(ctx.urls, ctx.state, reaction))
    reaction = Reaction(ctx.state.next_id(), ctx.user.login, content)
    reactions.append(reaction)
    return Reply(201, shapes.reaction_json(ctx.urls, ctx.state, reaction))


def _unreact(reactions: list[Reaction], reaction_id: int) -> Reply:
    kept = [r for r in reactions if r.id != reaction_id]
    if len(kept) == len(reactions):
        raise not_found()
    reactions[:] = kept
    return Reply(204)


def _comment(repo: Repo, comment_id: int) -> Comment:
    if comment_id not in repo.comments:
        raise not_found()
    return repo.comments[comment_id]
