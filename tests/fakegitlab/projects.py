"""Users, the instance's version, projects, members, branches and labels."""

from __future__ import annotations

from tests.fakegitlab import shapes
from tests.fakegitlab.api import Ctx, P, Reply, bad_param, not_found, route, unauthorized
from tests.fakegitlab.model import Project

VERSION = "17.5.0"  # what ``GET /version`` reports


@route("GET", "/version")
def get_version(ctx: Ctx) -> Reply:
    if ctx.user is None:
        raise unauthorized()
    return Reply(200, {"version": VERSION, "revision": "fake0000", "enterprise": False})


@route("GET", "/user")
def get_current_user(ctx: Ctx) -> Reply:
    if ctx.user is None:
        raise unauthorized()
    return Reply(200, shapes.current_user_json(ctx.urls, ctx.user))


@route("GET", "/users")
def list_users(ctx: Ctx) -> Reply:
    """``?username=`` finds one user (case-insensitive); an unknown name is an empty list."""
    users = sorted(ctx.state.users.values(), key=lambda u: u.id)
    username = ctx.text("username")
    if username is not None:
        users = [u for u in users if u.username.lower() == username.lower()]
    return ctx.paginate([shapes.user_basic(ctx.urls, u) for u in users])


@route("GET", "/users/{user_id}")
def get_user(ctx: Ctx, user_id: str) -> Reply:
    user = ctx.state.users.get(int(user_id)) if user_id.isdigit() else None
    if user is None:
        raise not_found("User")
    return Reply(200, shapes.user_json(ctx.urls, user))


@route("GET", P)
def get_project(ctx: Ctx, project: Project) -> Reply:
    return Reply(200, shapes.project_json(ctx.urls, ctx.state, project, ctx.user))


# --- members: direct members only (the fake has no groups to inherit from) -------------------


@route("GET", P + "/members")
@route("GET", P + "/members/all")
def list_members(ctx: Ctx, project: Project) -> Reply:
    members = sorted(project.members.values(), key=lambda m: m.user_id)
    return ctx.paginate(
        [shapes.member_json(ctx.urls, ctx.state.users[m.user_id], m) for m in members]
    )


@route("GET", P + "/members/{user_id}")
@route("GET", P + "/members/all/{user_id}")
def get_member(ctx: Ctx, project: Project, user_id: str) -> Reply:
    """A member's ``access_level``; ``404 Not found`` for anyone else (GitLab's find_by!)."""
    if not user_id.isdigit():
        raise bad_param("user_id")
    member = project.members.get(int(user_id))
    if member is None:
        raise not_found()
    return Reply(200, shapes.member_json(ctx.urls, ctx.state.users[member.user_id], member))


# --- branches, read live from the bare repository -------------------------------------------


@route("GET", P + "/repository/branches")
def list_branches(ctx: Ctx, project: Project) -> Reply:
    search = ctx.text("search") or ""
    items = []
    for name in project.branch_names():
        sha = project.branch_sha(name)
        if sha and search in name:
            items.append(shapes.branch_json(ctx.urls, project, name, sha))
    return ctx.paginate(items)


@route("GET", P + "/repository/branches/{branch}")
def get_branch(ctx: Ctx, project: Project, branch: str) -> Reply:
    sha = project.branch_sha(branch)
    if sha is None:
        raise not_found("Branch")
    return Reply(200, shapes.branch_json(ctx.urls, project, branch, sha))


@route("GET", P + "/labels")
def list_labels(ctx: Ctx, project: Project) -> Reply:
    labels = sorted(project.labels.values(), key=lambda label: label.name)
    return ctx.paginate([shapes.label_json(label) for label in labels])
