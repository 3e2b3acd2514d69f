"""Pull requests and their review requests."""

from __future__ import annotations

from tests.fakegithub import shapes
from tests.fakegithub.api import (
    DOCS,
    REPO,
    ApiError,
    Ctx,
    Reply,
    check_body,
    custom,
    invalid,
    pull_of,
    route,
    set_state,
)
from tests.fakegithub.state import ACTIONS_BOT, Issue, Pull, Repo

ACTIONS_CANNOT_CREATE = "GitHub Actions is not permitted to create or approve pull requests."
NOT_COLLABORATOR = (
    "Reviews may only be requested from collaborators. One or more of the users or teams you "
    "specified is not a collaborator of the {repo} repository."
)


@route("GET", REPO + "/pulls")
def list_pulls(ctx: Ctx, repo: Repo) -> Reply:
    state = ctx.query.get("state", "open")
    pulls = [i for i in repo.pulls if state == "all" or i.state == state]
    head = ctx.query.get("head", "")
    if ":" in head:  # GitHub ignores a head filter without its "owner:" part
        owner, _, branch = head.partition(":")
        if owner.lower() != repo.owner.lower():
            pulls = []
        pulls = [i for i in pulls if i.pull and i.pull.head_ref == branch]
    if "base" in ctx.query:
        pulls = [i for i in pulls if i.pull and i.pull.base_ref == ctx.query["base"]]
    sort = ctx.query.get("sort", "created")
    key = "updated_at" if sort == "updated" else "created_at"
    descending = ctx.query.get("direction", "desc" if sort == "created" else "asc") == "desc"
    pulls.sort(key=lambda i: (getattr(i, key), i.number), reverse=descending)
    return ctx.paginate([shapes.pull_json(ctx.urls, ctx.state, repo, i) for i in pulls])


@route("POST", REPO + "/pulls")
def create_pull(ctx: Ctx, repo: Repo) -> Reply:
    if ctx.state.actions_cannot_create_prs and ctx.user.login == ACTIONS_BOT:
        raise ApiError(403, ACTIONS_CANNOT_CREATE, doc=f"{DOCS}/pulls/pulls#create-a-pull-request")
    head = ctx.field("head", str, required=True)
    base = ctx.field("base", str, required=True)
    title = ctx.field("title", str, required=True)
    body = ctx.field("body", str)
    draft = bool(ctx.field("draft", bool))
    owner, _, head_ref = head.rpartition(":")
    head_sha = repo.branch_sha(head_ref)
    if (owner and owner.lower() != repo.owner.lower()) or head_sha is None:
        raise invalid({"resource": "PullRequest", "field": "head", "code": "invalid"})
    base_sha = repo.branch_sha(base)
    if base_sha is None:
        raise invalid({"resource": "PullRequest", "field": "base", "code": "invalid"})
    _check_unique(repo, head_ref, base)
    if repo.commits_between(base_sha, head_sha) == 0:
        raise invalid(custom("PullRequest", f"No commits between {base} and {head_ref}"))
    check_body(body, "Issue")
    pull = Pull(head_ref, head_sha, base, base_sha, ctx.state.next_id(), draft=draft)
    number = ctx.state.next_number(repo)
    issue = Issue(number, ctx.state.next_id(), title, ctx.user.login, body, pull=pull)
    repo.issues[number] = issue
    data = shapes.pull_json(ctx.urls, ctx.state, repo, issue)
    return Reply(201, data, {"Location": data["url"]})


@route("GET", REPO + "/pulls/{number:int}")
def get_pull(ctx: Ctx, repo: Repo, number: int) -> Reply:
    return Reply(200, shapes.pull_json(ctx.urls, ctx.state, repo, pull_of(repo, number)))


@route("PATCH", REPO + "/pulls/{number:int}")
def edit_pull(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue = pull_of(repo, number)
    pull = issue.pull
    assert pull is not None
    title, body = ctx.field("title", str), ctx.field("body", str)
    state, base = ctx.field("state", str), ctx.field("base", str)
    if state not in (None, "open", "closed"):
        raise invalid({"resource": "PullRequest", "code": "invalid", "field": "state"})
    if base is not None and repo.branch_sha(base) is None:
        raise invalid({"resource": "PullRequest", "code": "invalid", "field": "base"})
    check_body(body, "Issue")
    if state == "open" and issue.state == "closed":
        _check_unique(repo, pull.head_ref, base or pull.base_ref)
    if title is not None:
        issue.title = title
    if "body" in ctx.obj():
        issue.body = body
    if base is not None:
        pull.base_ref = base
    if ctx.field("maintainer_can_modify", bool) is not None:
        pull.maintainer_can_modify = ctx.obj()["maintainer_can_modify"]
    set_state(issue, state, None)
    return Reply(200, shapes.pull_json(ctx.urls, ctx.state, repo, issue))


@route("GET", REPO + "/pulls/{number:int}/requested_reviewers")
def list_review_requests(ctx: Ctx, repo: Repo, number: int) -> Reply:
    pull = pull_of(repo, number).pull
    assert pull is not None
    users = [
        shapes.user_json(ctx.urls, ctx.state.users[u.lower()]) for u in pull.requested_reviewers
    ]
    teams = [shapes.team_json(ctx.urls, repo, slug) for slug in pull.requested_teams]
    return Reply(200, {"users": users, "teams": teams})


@route("GET", REPO + "/pulls/{number:int}/reviews")
def list_reviews(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue = pull_of(repo, number)
    assert issue.pull is not None
    reviews = range(len(issue.pull.reviews))
    return ctx.paginate([shapes.review_json(ctx.urls, ctx.state, repo, issue, i) for i in reviews])


@route("POST", REPO + "/pulls/{number:int}/requested_reviewers")
def request_reviewers(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue = pull_of(repo, number)
    pull = issue.pull
    assert pull is not None
    users = ctx.field("reviewers", list) or []
    teams = ctx.field("team_reviewers", list) or []
    if any(u.lower() == issue.user.lower() for u in users):
        raise invalid(custom("PullRequest", "Review cannot be requested from pull request author."))
    unknown = [u for u in users if repo.role_of(u) is None] + [
        t for t in teams if t not in repo.teams
    ]
    if unknown:
        raise invalid(custom("PullRequest", NOT_COLLABORATOR.format(repo=repo.full_name)))
    for login in users:
        user = ctx.state.user(login)
        assert user is not None
        if user.login not in pull.requested_reviewers:
            pull.requested_reviewers.append(user.login)
    pull.requested_teams += [t for t in teams if t not in pull.requested_teams]
    issue.touch()
    return Reply(201, shapes.pull_json(ctx.urls, ctx.state, repo, issue))


@route("DELETE", REPO + "/pulls/{number:int}/requested_reviewers")
def remove_reviewers(ctx: Ctx, repo: Repo, number: int) -> Reply:
    issue = pull_of(repo, number)
    pull = issue.pull
    assert pull is not None
    users = {u.lower() for u in ctx.field("reviewers", list, required=True)}
    teams = set(ctx.field("team_reviewers", list) or [])
    pull.requested_reviewers = [u for u in pull.requested_reviewers if u.lower() not in users]
    pull.requested_teams = [t for t in pull.requested_teams if t not in teams]
    return Reply(200, shapes.pull_json(ctx.urls, ctx.state, repo, issue))


def _check_unique(repo: Repo, head: str, base: str) -> None:
    for other in repo.pulls:
        assert other.pull is not None
        if other.state == "open" and (other.pull.head_ref, other.pull.base_ref) == (head, base):
            message = f"A pull request already exists for {repo.owner}:{head}."
            raise invalid(custom("PullRequest", message))
