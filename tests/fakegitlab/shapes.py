"""GitLab's JSON for users, members, projects, branches and labels, every URL under the fake's
own base (``issuable_shapes`` has merge requests, issues, notes and award emoji).

Fields follow GitLab's REST entities (``lib/api/entities``: UserBasic, User, Member, Project,
Label) and answers recorded from gitlab.com; ``tests/test_fakegitlab.py`` checks them against
its own list of documented keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakegitlab.model import Label, Member, Project, User
from tests.fakegitlab.state import State

Json = dict[str, Any]


@dataclass(frozen=True)
class Urls:
    """The instance's external URL for one request: ``http://host[:port][/relative_root]``."""

    web: str

    @property
    def api(self) -> str:
        """The REST API root: what ``CI_API_V4_URL`` holds."""
        return f"{self.web}/api/v4"

    def project(self, project: Project) -> str:
        """A project's web URL."""
        return f"{self.web}/{project.path}"


def user_basic(urls: Urls, user: User) -> Json:
    """``UserBasic``: authors, assignees, reviewers, award emoji users."""
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "locked": False,
        "avatar_url": f"{urls.web}/uploads/-/system/user/avatar/{user.id}/avatar.png",
        "web_url": f"{urls.web}/{user.username}",
    }


def user_json(urls: Urls, user: User) -> Json:
    """``GET /users/:id``: the public profile, ``bot`` included."""
    return {
        **user_basic(urls, user),
        "created_at": user.created_at,
        "bio": "",
        "location": "",
        "public_email": None,
        "linkedin": "",
        "twitter": "",
        "discord": "",
        "website_url": "",
        "organization": "",
        "job_title": "",
        "pronouns": None,
        "bot": user.bot,
        "work_information": None,
        "followers": 0,
        "following": 0,
        "local_time": None,
    }


def current_user_json(urls: Urls, user: User) -> Json:
    """``GET /user``: the token's own account."""
    data = {
        **user_json(urls, user),
        "last_sign_in_at": user.created_at,
        "confirmed_at": user.created_at,
        "last_activity_on": user.created_at[:10],
        "email": user.email or f"{user.username}@example.com",
        "theme_id": 1,
        "color_scheme_id": 1,
        "projects_limit": 100000,
        "current_sign_in_at": user.created_at,
        "identities": [],
        "can_create_group": not user.bot,
        "can_create_project": not user.bot,
        "two_factor_enabled": False,
        "external": False,
        "private_profile": False,
        "commit_email": user.email or f"{user.username}@example.com",
    }
    if user.admin:  # GitLab shows is_admin to administrators only
        data["is_admin"] = True
    return data


def member_json(urls: Urls, user: User, member: Member) -> Json:
    """``Member``: a user with their access level in one project."""
    return {
        **user_basic(urls, user),
        "access_level": member.access_level,
        "created_at": member.created_at,
        "created_by": None,
        "expires_at": member.expires_at,
        "membership_state": "active",
    }


def project_json(urls: Urls, state: State, project: Project, viewer: User | None) -> Json:
    """``GET /projects/:id``: the fields a client reads, with the caller's ``permissions``."""
    web, api = urls.project(project), f"{urls.api}/projects/{project.id}"
    namespace, _, _ = project.path.rpartition("/")
    owner = state.user_named(namespace)
    level = project.access_level(viewer) if viewer else 0
    access = {"access_level": level, "notification_level": 3} if level else None
    return {
        "id": project.id,
        "description": project.description,
        "name": project.name,
        "name_with_namespace": project.path.replace("/", " / "),
        "path": project.name,
        "path_with_namespace": project.path,
        "created_at": project.created_at,
        "default_branch": project.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": f"git@{urls.web.split('://')[1].split('/')[0]}:{project.path}.git",
        "http_url_to_repo": f"{web}.git",
        "web_url": web,
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": project.created_at,
        "namespace": {
            "id": project.namespace_id,
            "name": namespace.rpartition("/")[2],
            "path": namespace.rpartition("/")[2],
            "kind": "user" if owner else "group",
            "full_path": namespace,
            "parent_id": None,
            "avatar_url": None,
            "web_url": f"{urls.web}/{'' if owner else 'groups/'}{namespace}",
        },
        "visibility": project.visibility,
        "_links": {
            "self": api,
            "issues": f"{api}/issues",
            "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches",
            "labels": f"{api}/labels",
            "events": f"{api}/events",
            "members": f"{api}/members",
        },
        "empty_repo": not project.branch_names(),
        "archived": False,
        "issues_enabled": True,
        "merge_requests_enabled": True,
        "open_issues_count": sum(i.state == "opened" for i in project.issues.values()),
        "creator_id": owner.id if owner else 1,
        "merge_method": "merge",
        "squash_option": "default_off",
        "remove_source_branch_after_merge": True,
        "only_allow_merge_if_pipeline_succeeds": False,
        "permissions": {"project_access": access, "group_access": None},
    }


def branch_json(urls: Urls, project: Project, name: str, sha: str) -> Json:
    """``GET /projects/:id/repository/branches/:branch``."""
    info = project.commit_info(sha) or {}
    message = info.get("message", "")
    web = urls.project(project)
    commit: Json = {
        "id": sha,
        "short_id": sha[:8],
        "created_at": info.get("committed_date"),
        "parent_ids": info.get("parents", "").split(),
        "title": message.partition("\n")[0],
        "message": message,
        "author_name": info.get("author_name"),
        "author_email": info.get("author_email"),
        "authored_date": info.get("authored_date"),
        "committer_name": info.get("committer_name"),
        "committer_email": info.get("committer_email"),
        "committed_date": info.get("committed_date"),
        "trailers": {},
        "extended_trailers": {},
        "web_url": f"{web}/-/commit/{sha}",
    }
    return {
        "name": name,
        "commit": commit,
        "merged": False,
        "protected": name == project.default_branch,
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": True,
        "default": name == project.default_branch,
        "web_url": f"{web}/-/tree/{name}",
    }


def label_json(label: Label) -> Json:
    """``Label``, as ``GET /projects/:id/labels`` lists them."""
    return {
        "id": label.id,
        "name": label.name,
        "description": label.description,
        "description_html": label.description or "",
        "text_color": "#FFFFFF",
        "color": label.color,
        "subscribed": False,
        "priority": None,
        "is_project_label": True,
    }
