"""Users, repositories, branches, refs, commits, collaborators and repository labels."""

from __future__ import annotations

from tests.fakegithub import shapes
from tests.fakegithub.api import (
    DOCS,
    REPO,
    ApiError,
    Ctx,
    Reply,
    invalid,
    not_found,
    route,
)
from tests.fakegithub.state import Repo


@route("GET", "/user")
def get_user(ctx: Ctx) -> Reply:
    return Reply(200, shapes.private_user_json(ctx.urls, ctx.user))


@route("GET", REPO)
def get_repo(ctx: Ctx, repo: Repo) -> Reply:
    return Reply(200, shapes.repo_json(ctx.urls, ctx.state, repo, ctx.user))


@route("GET", REPO + "/branches")
def list_branches(ctx: Ctx, repo: Repo) -> Reply:
    items = []
    for branch in repo.branch_names():
        sha = repo.branch_sha(branch) or ""
        commit = {"sha": sha, "url": f"{ctx.urls.api}/repos/{repo.full_name}/commits/{sha}"}
        items.append({"name": branch, "commit": commit, "protected": False})
    return ctx.paginate(items)


@route("GET", REPO + "/branches/{branch:path}")
def get_branch(ctx: Ctx, repo: Repo, branch: str) -> Reply:
    sha = repo.branch_sha(branch)
    if sha is None:
        raise ApiError(404, "Branch not found", doc=f"{DOCS}/branches/branches#get-a-branch")
    return Reply(200, shapes.branch_json(ctx.urls, repo, branch, sha))


@route("GET", REPO + "/git/ref/{ref:path}")
@route("GET", REPO + "/git/refs/{ref:path}")
def get_ref(ctx: Ctx, repo: Repo, ref: str) -> Reply:
    kind, _, branch = ref.removeprefix("refs/").partition("/")
    sha = repo.branch_sha(branch) if kind == "heads" else None  # tags are not modelled
    if sha is None:
        raise ApiError(404, "Not Found", doc=f"{DOCS}/git/refs#get-a-reference")
    return Reply(200, shapes.ref_json(ctx.urls, repo, branch, sha))


@route("GET", REPO + "/commits/{ref:path}")
def get_commit(ctx: Ctx, repo: Repo, ref: str) -> Reply:
    sha = repo.branch_sha(ref) or ref
    known = repo.commit_info(sha) if repo.bare else (sha in repo.branches.values() or None)
    if not known:
        raise ApiError(422, f"No commit found for SHA: {ref}", doc=f"{DOCS}/commits/commits")
    return Reply(200, shapes.commit_json(ctx.urls, repo, sha))


@route("GET", REPO + "/collaborators/{login}/permission")
def get_permission(ctx: Ctx, repo: Repo, login: str) -> Reply:
    mine = repo.role_of(ctx.user.login)
    if ctx.user.type != "Bot" and (mine is None or mine.level < 3):
        raise ApiError(403, "Must have push access to view collaborator permission.")
    user = ctx.state.user(login)
    if user is None:
        raise not_found()
    role = repo.role_of(login)
    if role is not None:
        permission, role_name, level = role.permission, role.role_name, role.level
    else:  # a user who is not a collaborator can read a public repository, nothing else
        permission = role_name = "none" if repo.private else "read"
        level = 0 if repo.private else 1
    data = {**shapes.user_json(ctx.urls, user), "role_name": role_name}
    data["permissions"] = shapes.permissions_json(level)
    return Reply(200, {"permission": permission, "role_name": role_name, "user": data})


@route("GET", REPO + "/collaborators/{login}")
def check_collaborator(ctx: Ctx, repo: Repo, login: str) -> Reply:
    if repo.role_of(login) is None:
        raise not_found()
    return Reply(204)


@route("GET", REPO + "/labels")
def list_repo_labels(ctx: Ctx, repo: Repo) -> Reply:
    return ctx.paginate([shapes.label_json(ctx.urls, repo, lb) for lb in repo.labels.values()])


@route("POST", REPO + "/labels")
def create_repo_label(ctx: Ctx, repo: Repo) -> Reply:
    name = ctx.field("name", str, required=True)
    if name.lower() in repo.labels:
        raise invalid({"resource": "Label", "code": "already_exists", "field": "name"})
    label = ctx.state.ensure_label(repo, name)
    label.color = (ctx.field("color", str) or "ededed").removeprefix("#")
    label.description = ctx.field("description", str)
    return Reply(201, shapes.label_json(ctx.urls, repo, label))


@route("GET", REPO + "/labels/{label}")
def get_repo_label(ctx: Ctx, repo: Repo, label: str) -> Reply:
    if label.lower() not in repo.labels:
        raise not_found()
    return Reply(200, shapes.label_json(ctx.urls, repo, repo.labels[label.lower()]))
