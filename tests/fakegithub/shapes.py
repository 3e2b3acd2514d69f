"""GitHub's JSON shapes for the fake's objects, every URL under the fake's own base.

The fields follow GitHub's REST description (``api.github.com.subset.json`` in the shared
fixtures); ``tests/test_fakegithub.py`` checks them against it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from tests.fakegithub.state import REACTIONS, Comment, Issue, Label, Reaction, Repo, State, User

Json = dict[str, Any]


@dataclass(frozen=True)
class Urls:
    """Bases for one request: ``api`` carries the ``/api/v3`` prefix when the client used it."""

    api: str
    html: str


def node_id(kind: str, id: int) -> str:
    return base64.b64encode(f"0:{kind}{id}".encode()).decode()


def user_json(urls: Urls, user: User) -> Json:
    api = f"{urls.api}/users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id("User", user.id),
        "avatar_url": f"{urls.html}/avatars/u/{user.id}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.html}/{user.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def private_user_json(urls: Urls, user: User) -> Json:
    """``GET /user``: the public fields plus the account's own."""
    return {
        **user_json(urls, user),
        "name": user.name,
        "email": user.email,
        "company": None,
        "blog": "",
        "location": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": "2011-01-25T18:44:36Z",
        "updated_at": "2011-01-25T18:44:36Z",
    }


_REPO_TEMPLATES = (
    "archive_url={archive_format}{/ref} assignees_url=assignees{/user} blobs_url=git/blobs{/sha} "
    "branches_url=branches{/branch} collaborators_url=collaborators{/collaborator} "
    "comments_url=comments{/number} commits_url=commits{/sha} compare_url=compare/{base}...{head} "
    "contents_url=contents/{+path} contributors_url=contributors deployments_url=deployments "
    "downloads_url=downloads events_url=events forks_url=forks git_commits_url=git/commits{/sha} "
    "git_refs_url=git/refs{/sha} git_tags_url=git/tags{/sha} hooks_url=hooks "
    "issue_comment_url=issues/comments{/number} issue_events_url=issues/events{/number} "
    "issues_url=issues{/number} keys_url=keys{/key_id} labels_url=labels{/name} "
    "languages_url=languages merges_url=merges milestones_url=milestones{/number} "
    "notifications_url=notifications{?since,all,participating} pulls_url=pulls{/number} "
    "releases_url=releases{/id} stargazers_url=stargazers statuses_url=statuses/{sha} "
    "subscribers_url=subscribers subscription_url=subscription tags_url=tags teams_url=teams "
    "trees_url=git/trees{/sha}"
)


def repo_json(urls: Urls, state: State, repo: Repo, viewer: User | None = None) -> Json:
    """A repository in the ``full-repository`` shape (a superset of ``repository``)."""
    api = f"{urls.api}/repos/{repo.full_name}"
    html = f"{urls.html}/{repo.full_name}"
    owner = state.user(repo.owner)
    assert owner is not None
    data: Json = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": user_json(urls, owner),
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "html_url": html,
        "description": repo.description,
        "fork": False,
        "url": api,
        "git_url": f"{html}.git",
        "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "subscribers_count": 0,
        "network_count": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues": sum(i.state == "open" for i in repo.issues.values()),
        "open_issues_count": sum(i.state == "open" for i in repo.issues.values()),
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "license": None,
        "allow_forking": True,
        "allow_merge_commit": True,
        "allow_squash_merge": True,
        "allow_rebase_merge": True,
        "allow_auto_merge": False,
        "delete_branch_on_merge": False,
        "web_commit_signoff_required": False,
        "pushed_at": repo.created_at,
        "created_at": repo.created_at,
        "updated_at": repo.created_at,
    }
    for pair in _REPO_TEMPLATES.split():
        key, tail = pair.split("=")
        data[key] = f"{api}/{tail}"
    if owner.type == "Organization":
        data["organization"] = user_json(urls, owner)
    if viewer is not None:
        role = repo.role_of(viewer.login)
        level = role.level if role else 0
        data["permissions"] = permissions_json(level)
    return data


def permissions_json(level: int) -> Json:
    return {
        "admin": level >= 5,
        "maintain": level >= 4,
        "push": level >= 3,
        "triage": level >= 2,
        "pull": level >= 1,
    }


def label_json(urls: Urls, repo: Repo, label: Label) -> Json:
    return {
        "id": label.id,
        "node_id": node_id("Label", label.id),
        "url": f"{urls.api}/repos/{repo.full_name}/labels/{label.name}",
        "name": label.name,
        "color": label.color,
        "default": label.default,
        "description": label.description,
    }


def reaction_json(urls: Urls, state: State, reaction: Reaction) -> Json:
    return {
        "id": reaction.id,
        "node_id": node_id("Reaction", reaction.id),
        "user": _user(urls, state, reaction.user),
        "content": reaction.content,
        "created_at": reaction.created_at,
    }


def rollup_json(url: str, reactions: list[Reaction]) -> Json:
    counts = {content: sum(r.content == content for r in reactions) for content in REACTIONS}
    return {"url": f"{url}/reactions", "total_count": len(reactions), **counts}


def comment_json(urls: Urls, state: State, repo: Repo, comment: Comment) -> Json:
    url = f"{urls.api}/repos/{repo.full_name}/issues/comments/{comment.id}"
    issue = repo.issues[comment.issue_number]
    return {
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "url": url,
        "html_url": f"{_issue_html(urls, repo, issue)}#issuecomment-{comment.id}",
        "body": comment.body,
        "user": _user(urls, state, comment.user),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "issue_url": f"{urls.api}/repos/{repo.full_name}/issues/{issue.number}",
        "author_association": association(state, repo, comment.user),
        "performed_via_github_app": None,
        "reactions": rollup_json(url, comment.reactions),
    }


def issue_json(urls: Urls, state: State, repo: Repo, issue: Issue) -> Json:
    api = f"{urls.api}/repos/{repo.full_name}/issues/{issue.number}"
    data: Json = {
        "id": issue.id,
        "node_id": node_id("Issue", issue.id),
        "url": api,
        "repository_url": f"{urls.api}/repos/{repo.full_name}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": _issue_html(urls, repo, issue),
        "number": issue.number,
        "state": issue.state,
        "state_reason": issue.state_reason,
        "title": issue.title,
        "body": issue.body,
        "user": _user(urls, state, issue.user),
        "labels": _labels(urls, repo, issue),
        "assignee": _user(urls, state, issue.assignees[0]) if issue.assignees else None,
        "assignees": [_user(urls, state, login) for login in issue.assignees],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": len(repo.comments_on(issue.number)),
        "closed_at": issue.closed_at,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_by": None,
        "author_association": association(state, repo, issue.user),
        "reactions": rollup_json(api, issue.reactions),
    }
    if issue.pull is not None:
        pulls = f"{urls.api}/repos/{repo.full_name}/pulls/{issue.number}"
        data["draft"] = issue.pull.draft
        data["pull_request"] = {
            "url": pulls,
            "html_url": data["html_url"],
            "diff_url": f"{data['html_url']}.diff",
            "patch_url": f"{data['html_url']}.patch",
            "merged_at": None,
        }
    return data


def pull_json(urls: Urls, state: State, repo: Repo, issue: Issue) -> Json:
    """A pull request in the full ``pull-request`` shape."""
    pull = issue.pull
    assert pull is not None
    repo_api = f"{urls.api}/repos/{repo.full_name}"
    api = f"{repo_api}/pulls/{issue.number}"
    issue_api = f"{repo_api}/issues/{issue.number}"
    html = _issue_html(urls, repo, issue)
    head_sha = repo.branch_sha(pull.head_ref) or pull.head_sha
    base_sha = repo.branch_sha(pull.base_ref) or pull.base_sha
    links = {
        "self": api,
        "html": html,
        "issue": issue_api,
        "comments": f"{issue_api}/comments",
        "review_comments": f"{api}/comments",
        "review_comment": f"{repo_api}/pulls/comments{{/number}}",
        "commits": f"{api}/commits",
        "statuses": f"{repo_api}/statuses/{head_sha}",
    }
    return {
        "url": api,
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_api,
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": issue.number,
        "state": issue.state,
        "locked": False,
        "title": issue.title,
        "user": _user(urls, state, issue.user),
        "body": issue.body,
        "labels": _labels(urls, repo, issue),
        "milestone": None,
        "active_lock_reason": None,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "merged_at": issue.closed_at if pull.merged else None,
        "merge_commit_sha": None,
        "assignee": _user(urls, state, issue.assignees[0]) if issue.assignees else None,
        "assignees": [_user(urls, state, login) for login in issue.assignees],
        "requested_reviewers": [_user(urls, state, login) for login in pull.requested_reviewers],
        "requested_teams": [team_json(urls, repo, slug) for slug in pull.requested_teams],
        "head": _end(urls, state, repo, pull.head_ref, head_sha),
        "base": _end(urls, state, repo, pull.base_ref, base_sha),
        "_links": {key: {"href": href} for key, href in links.items()},
        "author_association": association(state, repo, issue.user),
        "auto_merge": None,
        "draft": pull.draft,
        "merged": pull.merged,
        "mergeable": True,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": None,
        "comments": len(repo.comments_on(issue.number)),
        "review_comments": 0,
        "maintainer_can_modify": pull.maintainer_can_modify,
        "commits": max(1, repo.commits_between(base_sha, head_sha)),
        "additions": 0,
        "deletions": 0,
        "changed_files": 0,
    }


def team_json(urls: Urls, repo: Repo, slug: str) -> Json:
    team_id = sum(slug.encode()) + 100_000
    api = f"{urls.api}/organizations/{repo.owner}/team/{team_id}"
    return {
        "id": team_id,
        "node_id": node_id("Team", team_id),
        "url": api,
        "html_url": f"{urls.html}/orgs/{repo.owner}/teams/{slug}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{api}/members{{/member}}",
        "repositories_url": f"{api}/repos",
        "type": "organization",
        "parent": None,
    }


def ref_json(urls: Urls, repo: Repo, branch: str, sha: str) -> Json:
    api = f"{urls.api}/repos/{repo.full_name}"
    return {
        "ref": f"refs/heads/{branch}",
        "node_id": node_id("Ref", sum(branch.encode())),
        "url": f"{api}/git/refs/heads/{branch}",
        "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
    }


def commit_json(urls: Urls, repo: Repo, sha: str) -> Json:
    """A commit, with author, committer and message when the repository is a real one."""
    api = f"{urls.api}/repos/{repo.full_name}"
    info = repo.commit_info(sha) or {}
    sha = info.get("sha", sha)

    def person(kind: str) -> Json:
        return {
            "name": info.get(f"{kind}_name", ""),
            "email": info.get(f"{kind}_email", ""),
            "date": info.get(f"{kind}_date", ""),
        }

    parents = info.get("parents", "").split()
    return {
        "sha": sha,
        "node_id": node_id("Commit", sum(sha.encode())),
        "url": f"{api}/commits/{sha}",
        "html_url": f"{urls.html}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": person("author"),
            "committer": person("committer"),
            "message": info.get("message", "").rstrip("\n"),
            "tree": {"sha": info.get("tree", ""), "url": f"{api}/git/trees/{info.get('tree', '')}"},
            "comment_count": 0,
        },
        "author": None,
        "committer": None,
        "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in parents],
        "files": [],
        "stats": {"additions": 0, "deletions": 0, "total": 0},
    }


def branch_json(urls: Urls, repo: Repo, branch: str, sha: str) -> Json:
    api = f"{urls.api}/repos/{repo.full_name}"
    return {
        "name": branch,
        "commit": commit_json(urls, repo, sha),
        "_links": {"self": f"{api}/branches/{branch}", "html": f"{urls.html}/{repo.full_name}"},
        "protected": False,
        "protection": {"enabled": False, "required_status_checks": {"enforcement_level": "off"}},
        "protection_url": f"{api}/branches/{branch}/protection",
    }


def _end(urls: Urls, state: State, repo: Repo, ref: str, sha: str) -> Json:
    """A pull request's ``head`` or ``base``: both live in ``repo`` (forks are not modelled)."""
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": _user(urls, state, repo.owner),
        "repo": repo_json(urls, state, repo),
    }


def association(state: State, repo: Repo, login: str) -> str:
    if login.lower() == repo.owner.lower():
        return "OWNER"
    return "COLLABORATOR" if repo.role_of(login) else "NONE"


def _user(urls: Urls, state: State, login: str) -> Json:
    user = state.user(login)
    assert user is not None, f"unknown user {login}"
    return user_json(urls, user)


def _labels(urls: Urls, repo: Repo, issue: Issue) -> list[Json]:
    return [label_json(urls, repo, repo.labels[name.lower()]) for name in issue.labels]


def _issue_html(urls: Urls, repo: Repo, issue: Issue) -> str:
    kind = "pull" if issue.pull is not None else "issues"
    return f"{urls.html}/{repo.full_name}/{kind}/{issue.number}"


def review_json(urls: Urls, state: State, repo: Repo, issue: Issue, index: int) -> Json:
    """A review in the ``pull-request-review`` shape."""
    pull = issue.pull
    assert pull is not None
    login, verdict = pull.reviews[index]
    html = _issue_html(urls, repo, issue)
    review_id = pull.id * 1000 + index + 1
    return {
        "id": review_id,
        "node_id": node_id("PullRequestReview", review_id),
        "user": _user(urls, state, login),
        "body": "",
        "state": verdict,
        "html_url": f"{html}#pullrequestreview-{review_id}",
        "pull_request_url": f"{urls.api}/repos/{repo.full_name}/pulls/{issue.number}",
        "_links": {"html": {"href": html}, "pull_request": {"href": html}},
        "submitted_at": issue.updated_at,
        "commit_id": repo.branch_sha(pull.head_ref) or pull.head_sha,
        "author_association": association(state, repo, login),
    }
