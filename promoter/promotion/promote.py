"""``promoter promote``: select, build the promotion branch, store the model, open the PR.

The branch is built in a scratch worktree from ``pr.base`` (see :mod:`promoter.tools.worktree`), so
a failure at any step leaves the user's checkout and every branch as they were. Nothing is
pushed until the model is verified present in the DVC remote.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from promoter.api import Settings, open_store, select_best
from promoter.config import PrConfig, check_template_fields
from promoter.core.champion import CHAMPION_FILE, parse_champion
from promoter.core.models import Champion
from promoter.core.selection import Decision, Selection, Verdict
from promoter.errors import PromoterError, UsageError
from promoter.forges.base import Forge, PullRequest, PullRequestDraft, marked_run
from promoter.promotion.record import PrInfo, PromotionRecord, TriggerInfo
from promoter.promotion.record_builder import record_path
from promoter.tools.git import Git, path_prefix, valid_branch_component

log = logging.getLogger("promoter")

RUN_TRAILER = "Promoter-Run"


class Outcome(StrEnum):
    """What ``promote`` (or the bot, for the last three) did: the action's ``decision``."""

    PROMOTED = "promoted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_BETTER = "not-better"
    NO_CANDIDATE = "no-candidate"
    REFUSED = "refused"
    DRY_RUN = "dry-run"
    HELP = "help"
    COMPARED = "compared"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class PromoteRequest:
    """What to promote and how."""

    run: str | None = None
    objective: str | None = None
    dry_run: bool = False
    trigger: TriggerInfo = field(default_factory=lambda: TriggerInfo(event="cli"))


@dataclass(frozen=True, slots=True)
class PromoteResult:
    """The outcome, with what scripts and the action's outputs need."""

    decision: Outcome
    summary: str
    run_id: str | None = None
    branch: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    model_md5: Mapping[str, str] = field(default_factory=dict)
    record: str | None = None
    body: str | None = None


_NOT_PROMOTED = {
    Decision.NOT_BETTER: Outcome.NOT_BETTER,
    Decision.NO_CANDIDATE: Outcome.NO_CANDIDATE,
}


def format_template(template: str, values: Mapping[str, object], key: str) -> str:
    """``pr.branch`` / ``pr.title`` filled in; the fields were checked at config load."""
    try:
        check_template_fields(template)
        return template.format(**values)
    except (ValueError, TypeError, KeyError) as e:
        raise UsageError(f"{key}: {e}") from None


def branch_name(settings: Settings, selection: Selection, verdict: Verdict | None = None) -> str:
    """The promotion branch: ``pr.branch`` with ``{op}`` made safe for a git ref."""
    values = _fields(selection, verdict)
    values["op"] = valid_branch_component(str(values["op"]))
    return format_template(settings.config.pr.branch, values, "pr.branch")


def title_of(settings: Settings, selection: Selection, verdict: Verdict | None = None) -> str:
    """The PR title from ``pr.title`` (with ``newest``, the default names no value)."""
    template = settings.config.pr.title
    if selection.policy.objective.newest and template == PrConfig().title:
        template = "Promote {op} run {run_short}: the newest run"
    return format_template(template, _fields(selection, verdict), "pr.title")


def _fields(selection: Selection, verdict: Verdict | None = None) -> dict[str, object]:
    chosen = verdict or selection.winner
    assert chosen is not None
    run = chosen.run
    value = chosen.objective
    return {
        "op": run.op,
        "run_id": run.id,
        "run_short": run.short_id,
        "objective_name": str(selection.policy.objective.scalar),
        "objective_value": value if value is not None else float("nan"),
    }


@dataclass(frozen=True, slots=True)
class _Target:
    """Where the promotion goes: the branch, the remote and what is already there."""

    branch: str
    remote: str | None
    base_ref: str
    remote_sha: str | None
    existing: PullRequest | None


def promote(settings: Settings, request: PromoteRequest, forge: Forge) -> PromoteResult:
    """The whole job; see the module docstring for the guarantees."""
    git = Git(settings.project)
    top = git.toplevel().resolve()
    prefix = path_prefix(top, settings.project)
    remote = git.default_remote()
    if remote is None and not request.dry_run:
        raise PromoterError("the repository has no git remote to push the branch to")
    base_ref = _fetch_base(git, remote, settings.config.pr.base)
    selection, listing = select_best(
        settings,
        request.run,
        request.objective,
        champion=lambda: _champion_at(git, base_ref, prefix),
    )
    log.info("%s: %s", selection.decision.value, selection.summary)
    if selection.decision is not Decision.PROMOTE or selection.winner is None:
        winner = selection.winner.run.id if selection.winner else None
        if selection.decision is Decision.NOT_BETTER and not request.dry_run:
            _close_stale(settings, selection, forge)
        return PromoteResult(_NOT_PROMOTED[selection.decision], selection.summary, winner)
    target = _target(settings, selection, git, forge, remote, base_ref, request.dry_run)
    settled = _already_settled(selection, target, git, forge)
    if settled is not None:
        return settled

    from promoter.promotion.build import build_branch, render_record_body
    from promoter.tools.worktree import scratch_worktree

    subdir = settings.project.relative_to(top)
    with scratch_worktree(git, target.base_ref, selection.winner.run.short_id) as worktree:
        work_git = Git(worktree)
        built = build_branch(
            settings=settings,
            selection=selection,
            listing_runs=listing.runs,
            store=open_store(settings),
            worktree=worktree,
            project_dir=worktree / subdir,
            main_root=top,
            git=work_git,
            trigger=request.trigger,
            pr=PrInfo(
                branch=target.branch,
                base=settings.config.pr.base,
                title=title_of(settings, selection),
            ),
            dry_run=request.dry_run,
        )
        record = built.record
        # Rendered before the push: a broken user template must not leave a pushed branch.
        body = render_record_body(settings, record, forge, target.branch, built.commit, prefix)
        if request.dry_run:
            return _result(Outcome.DRY_RUN, selection, target.branch, record, body)
        assert target.remote is not None
        work_git.push(
            target.remote,
            target.branch,
            expected_sha=target.remote_sha,
            force=target.remote_sha is not None,
        )
        log.info("pushed %s to %s/%s", built.commit[:12], target.remote, target.branch)
        linked = [p.path for p in record.plots] + [record_path(record.run.id)]
        files = {prefix + path: worktree / subdir / path for path in linked}
        return _open_or_update(settings, selection, target, forge, record, body, files)


def _close_stale(settings: Settings, selection: Selection, forge: Forge) -> None:
    """Close the open promotion PR of this op: its run no longer beats the champion."""
    pull = forge.find_open(branch_name(settings, selection))
    run = marked_run(pull.body) if pull is not None else None
    champion = selection.champion.champion.run_id if selection.champion else None
    if pull is None or run is None or run == champion:
        return
    forge.comment(
        pull.number,
        f"Closing: run {run[:8]} is no longer the one to promote. {selection.summary}",
    )
    forge.close(pull.number)
    log.info("closed PR #%d: its run no longer beats the champion", pull.number)


def _champion_at(git: Git, base_ref: str, prefix: str) -> Champion | None:
    """The champion on the base branch: what the promotion must beat, whatever is checked out."""
    path = prefix + CHAMPION_FILE.as_posix()
    data = git.show_file(base_ref, path)
    if data is None:
        return None
    return parse_champion(data.decode("utf-8", errors="replace"), f"{base_ref}:{path}")


def _target(
    settings: Settings,
    selection: Selection,
    git: Git,
    forge: Forge,
    remote: str | None,
    base_ref: str,
    dry_run: bool,
) -> _Target:
    branch = branch_name(settings, selection)
    if not git.check_branch_name(branch):
        raise UsageError(f"pr.branch: {branch!r} is not a valid branch name")
    remote_sha = git.remote_branch_sha(remote, branch) if remote else None
    existing = None if dry_run else forge.find_open(branch)
    return _Target(branch, remote, base_ref, remote_sha, existing)


def _already_settled(
    selection: Selection, target: _Target, git: Git, forge: Forge
) -> PromoteResult | None:
    """``unchanged`` when the open PR already promotes the run; ``refused`` when the branch
    holds commits promoter did not make."""
    assert selection.winner is not None
    run = selection.winner.run
    existing = target.existing
    if existing is not None and target.remote_sha and marked_run(existing.body) == run.id:
        return PromoteResult(
            Outcome.UNCHANGED,
            f"PR #{existing.number} already promotes run {run.short_id}",
            run.id,
            target.branch,
            existing.number,
            existing.url,
        )
    if target.remote_sha and target.remote is not None:
        refusal = _foreign_commits(
            git, target.remote, target.branch, target.base_ref, target.remote_sha
        )
        if refusal:
            if existing is not None:
                forge.comment(existing.number, refusal)
            return PromoteResult(Outcome.REFUSED, refusal, run.id, target.branch)
    return None


def _open_or_update(
    settings: Settings,
    selection: Selection,
    target: _Target,
    forge: Forge,
    record: PromotionRecord,
    body: str,
    files: Mapping[str, Path],
) -> PromoteResult:
    pr = settings.config.pr
    draft = PullRequestDraft(
        title=record.pr.title,
        body=body,
        branch=target.branch,
        base=pr.base,
        labels=pr.labels,
        reviewers=pr.reviewers,
        assignees=pr.assignees,
        draft=pr.draft,
        files=files,
    )
    if target.existing is None:
        pull = forge.create(draft)
        outcome = Outcome.PROMOTED
    else:
        pull = forge.update(target.existing.number, draft)
        outcome = Outcome.UPDATED
        old = marked_run(target.existing.body)
        if old and old != record.run.id:
            forge.comment(
                pull.number,
                f"Run {old[:8]} is superseded by run {record.run.short_id}: {selection.summary}",
            )
    log.info("%s PR #%d: %s", outcome.value, pull.number, pull.url)
    return _result(outcome, selection, target.branch, record, body, pull.number, pull.url)


def _fetch_base(git: Git, remote: str | None, base: str) -> str:
    if remote is None:
        if git.rev_parse(base) is None:
            raise PromoterError(f"pr.base: no branch {base!r} in this repository")
        return base
    tracking = f"refs/remotes/{remote}/{base}"
    try:
        git.fetch(remote, [f"+refs/heads/{base}:{tracking}"])
    except PromoterError as e:
        raise PromoterError(f"pr.base: cannot fetch {base!r} from {remote}: {e}") from e
    return tracking


def _foreign_commits(git: Git, remote: str, branch: str, base_ref: str, sha: str) -> str | None:
    git.fetch(remote, [f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"])
    foreign = [c for c in git.commits_between(base_ref, sha) if RUN_TRAILER not in c.trailers]
    if not foreign:
        return None
    shown = ", ".join(f"{c.sha[:8]} ({c.author_name}: {c.subject})" for c in foreign[:5])
    return (
        f"branch {branch} holds commits promoter did not make ({shown}); "
        "not overwriting them. Merge or close that PR, or delete the branch, then re-run."
    )


def _result(
    outcome: Outcome,
    selection: Selection,
    branch: str,
    record: PromotionRecord,
    body: str,
    number: int | None = None,
    url: str | None = None,
) -> PromoteResult:
    return PromoteResult(
        outcome,
        selection.summary,
        record.run.id,
        branch,
        number,
        url,
        {row.path: row.md5 for row in record.dvc},
        record_path(record.run.id),
        body,
    )
