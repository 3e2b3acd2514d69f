"""GitLab's JSON for merge requests, issues, notes and award emoji (``MergeRequestBasic``,
``MergeRequest``, ``Issue``, ``Note``, ``AwardEmoji`` in GitLab's lib/api/entities), every URL
under the fake's own base."""

from __future__ import annotations

from tests.fakegitlab.model import AwardEmoji, Issue, MergeRequest, Note, Project
from tests.fakegitlab.shapes import Json, Urls, user_basic
from tests.fakegitlab.state import State


def _users(urls: Urls, state: State, ids: list[int]) -> list[Json]:
    return [user_basic(urls, state.users[i]) for i in ids if i in state.users]


def _user(urls: Urls, state: State, id: int | None) -> Json | None:
    return user_basic(urls, state.users[id]) if id in state.users else None


def _time_stats() -> Json:
    return {
        "time_estimate": 0,
        "total_time_spent": 0,
        "human_time_estimate": None,
        "human_total_time_spent": None,
    }


def _votes(awards: list[AwardEmoji]) -> Json:
    return {
        "upvotes": sum(a.name == "thumbsup" for a in awards),
        "downvotes": sum(a.name == "thumbsdown" for a in awards),
    }


def mr_sha(project: Project, mr: MergeRequest) -> str | None:
    """The source branch's head while the MR is open (read live), else its last known head."""
    if mr.state == "opened":
        mr.last_sha = project.branch_sha(mr.source_branch) or mr.last_sha
    return mr.last_sha


def merge_request_json(
    urls: Urls, state: State, project: Project, mr: MergeRequest, *, single: bool = False
) -> Json:
    """``MergeRequestBasic`` (lists), or with ``single`` the full ``MergeRequest``."""
    sha = mr_sha(project, mr)
    ref = f"!{mr.iid}"
    merged_by = _user(urls, state, mr.merged_by_id)
    data: Json = {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": project.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": mr.created_at,
        "updated_at": mr.updated_at,
        "merged_by": merged_by,
        "merge_user": merged_by,
        "merged_at": mr.merged_at,
        "closed_by": _user(urls, state, mr.closed_by_id),
        "closed_at": mr.closed_at,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "user_notes_count": sum(not n.system for n in project.notes_on("MergeRequest", mr.iid)),
        **_votes(mr.awards),
        "author": _user(urls, state, mr.author_id),
        "assignees": _users(urls, state, mr.assignee_ids),
        "assignee": _user(urls, state, mr.assignee_ids[0] if mr.assignee_ids else None),
        "reviewers": _users(urls, state, mr.reviewer_ids),
        "source_project_id": project.id,
        "target_project_id": project.id,
        "labels": sorted(mr.labels),  # GitLab sorts label titles
        "draft": mr.draft,
        "imported": False,
        "imported_from": "none",
        "work_in_progress": mr.draft,
        "milestone": None,
        "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged" if mr.state == "opened" else "unchecked",
        "detailed_merge_status": _detailed_status(mr),
        "merge_after": None,
        "sha": sha,
        "merge_commit_sha": None,
        "squash_commit_sha": None,
        "discussion_locked": mr.discussion_locked,
        "should_remove_source_branch": None,
        "force_remove_source_branch": mr.force_remove_source_branch,
        "prepared_at": mr.created_at,
        "reference": ref,
        "references": {"short": ref, "relative": ref, "full": f"{project.path}{ref}"},
        "web_url": f"{urls.project(project)}/-/merge_requests/{mr.iid}",
        "time_stats": _time_stats(),
        "squash": mr.squash,
        "squash_on_merge": mr.squash,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": False,
        "blocking_discussions_resolved": True,
    }
    if single:
        data.update(_single_fields(project, mr, sha))
    return data


def _detailed_status(mr: MergeRequest) -> str:
    if mr.state != "opened":
        return "not_open"
    return "draft_status" if mr.draft else "mergeable"


def _single_fields(project: Project, mr: MergeRequest, sha: str | None) -> Json:
    """What ``GET .../merge_requests/:iid`` adds to the list shape."""
    start = project.branch_sha(mr.target_branch)
    base = project.merge_base(start, sha) if start and sha else start
    changes = project.changed_files(base, sha) if base and sha else 0
    return {
        "subscribed": True,
        "changes_count": str(changes),  # a string in GitLab's answer
        "latest_build_started_at": None,
        "latest_build_finished_at": None,
        "first_deployed_to_production_at": None,
        "pipeline": None,
        "head_pipeline": None,
        "diff_refs": {"base_sha": base, "head_sha": sha, "start_sha": start},
        "merge_error": None,
        "first_contribution": False,
        "user": {"can_merge": True},
    }


def note_json(urls: Urls, state: State, project: Project, note: Note) -> Json:
    """``Note``: a comment (or a system note) on a merge request or issue."""
    on = (
        project.merge_requests.get(note.noteable_iid)
        if note.noteable_type == "MergeRequest"
        else project.issues.get(note.noteable_iid)
    )
    return {
        "id": note.id,
        "type": None,
        "body": note.body,
        "attachment": None,
        "author": _user(urls, state, note.author_id),
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "system": note.system,
        "noteable_id": on.id if on else None,  # the global id, not the iid the URLs take
        "noteable_type": note.noteable_type,
        "project_id": project.id,
        "resolvable": False,
        "confidential": note.internal,
        "internal": note.internal,
        "imported": False,
        "imported_from": "none",
        "noteable_iid": note.noteable_iid,
        "commands_changes": {},
    }


def award_json(urls: Urls, state: State, award: AwardEmoji) -> Json:
    """``AwardEmoji``: one emoji one user gave a merge request, issue or note."""
    return {
        "id": award.id,
        "name": award.name,
        "user": _user(urls, state, award.user_id),
        "created_at": award.created_at,
        "updated_at": award.updated_at,
        "awardable_id": award.awardable_id,
        "awardable_type": award.awardable_type,
        "url": None,  # set for custom emoji only
    }


def issue_json(urls: Urls, state: State, project: Project, issue: Issue) -> Json:
    """``Issue``, as ``GET /projects/:id/issues/:iid`` answers."""
    ref = f"#{issue.iid}"
    web = f"{urls.project(project)}/-/issues/{issue.iid}"
    api = f"{urls.api}/projects/{project.id}/issues/{issue.iid}"
    return {
        "id": issue.id,
        "iid": issue.iid,
        "project_id": project.id,
        "title": issue.title,
        "description": issue.description,
        "state": issue.state,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "closed_by": None,
        "labels": sorted(issue.labels),
        "milestone": None,
        "assignees": _users(urls, state, issue.assignee_ids),
        "author": _user(urls, state, issue.author_id),
        "type": "ISSUE",
        "assignee": _user(urls, state, issue.assignee_ids[0] if issue.assignee_ids else None),
        "user_notes_count": sum(not n.system for n in project.notes_on("Issue", issue.iid)),
        "merge_requests_count": 0,
        **_votes(issue.awards),
        "due_date": None,
        "confidential": False,
        "discussion_locked": None,
        "issue_type": "issue",
        "web_url": web,
        "time_stats": _time_stats(),
        "task_completion_status": {"count": 0, "completed_count": 0},
        "references": {"short": ref, "relative": ref, "full": f"{project.path}{ref}"},
        "_links": {
            "self": api,
            "notes": f"{api}/notes",
            "award_emoji": f"{api}/award_emoji",
            "project": f"{urls.api}/projects/{project.id}",
        },
    }
