"""``promoter promote``: gather the facts, let the planner decide, then do what it says.

The branch is built in a scratch worktree from ``pr.base`` (see :mod:`promoter.tools.worktree`),
so a failure at any step leaves the user's checkout and every branch as they were. Nothing is
pushed until the model is verified present in the DVC remote.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from promoter.candidates import select_best
from promoter.core.champion import parse_champion
from promoter.core.models import Champion, Run
from promoter.core.selection import Decision, Selection
from promoter.errors import PromoterError, UsageError
from promoter.forges.base import Forge, PullRequest, PullRequestDraft, PullState
from promoter.forges.markers import marked_run
from promoter.promotion.naming import branch_name, title_of
from promoter.promotion.outcome import Outcome, PromoteResult
from promoter.promotion.planner import CLOSED_STALE, SUPERSEDED, Action, Facts, Plan, plan
from promoter.promotion.record import PrInfo, PromotionRecord, TriggerInfo
from promoter.promotion.record_builder import record_path
from promoter.render.escape import code_span
from promoter.runs.base import RunStore
from promoter.settings import Settings
from promoter.tools.git import CommitInfo, Git, is_relative_path, path_prefix

log = logging.getLogger("promoter")

RUN_TRAILER = "Promoter-Run"
_NO_COMMIT = "0" * 40  # links in the provisional body rendered before the commit exists


@dataclass(frozen=True, slots=True)
class PromoteRequest:
    """What to promote and how."""

    run: str | None = None
    objective: str | None = None
    dry_run: bool = False
    trigger: TriggerInfo = field(default_factory=lambda: TriggerInfo(event="cli"))
    recreate: bool = False
    """Rebuild the branch on the base even over commits promoter did not make."""


_NOT_PROMOTED = {
    Decision.NOT_BETTER: Outcome.NOT_BETTER,
    Decision.NO_CANDIDATE: Outcome.NO_CANDIDATE,
    Decision.NOT_COMPARABLE: Outcome.NOT_COMPARABLE,
}


@dataclass(frozen=True, slots=True)
class _Repository:
    """The user's repository as the promotion sees it."""

    git: Git
    top: Path
    prefix: str
    remote: str | None
    """Where the branch is fetched from and pushed to: the remote's name, or its URL made
    absolute when it is a relative path (which a scratch worktree would read elsewhere)."""
    base_ref: str


@dataclass(frozen=True, slots=True)
class _Job:
    """One promotion: what was asked, and where it reads and writes."""

    settings: Settings
    store: RunStore
    forge: Forge
    request: PromoteRequest
    repo: _Repository


def promote_tracks(
    settings: Settings, store: RunStore, forge: Forge, request: PromoteRequest
) -> list[PromoteResult]:
    """The promotion of every track (or, for a run asked by id, of the track it belongs to),
    each judged only against its own champion."""
    if request.run is not None:
        from promoter.candidates import settings_for_run

        targets = [settings_for_run(settings, store, request.run)]
    else:
        targets = settings.tracks()
    return [promote(each, store, forge, request) for each in targets]


def promote(
    settings: Settings, store: RunStore, forge: Forge, request: PromoteRequest
) -> PromoteResult:
    """The whole job for one track; see the module docstring for the guarantees. Promotions
    in one repository run one at a time (another one waits)."""
    from promoter.tools.owners import exclusive
    from promoter.tools.worktree import remove_abandoned, worktrees_root

    git = Git(settings.project)
    with exclusive(git.git_common_dir() / "promoter" / "promote.lock"):
        # Every run, not only one that builds: a re-run after a kill is often `unchanged`.
        root = worktrees_root(git)
        if root.is_dir():
            remove_abandoned(git, root)
        return replace(_promote(settings, store, forge, request), track=settings.track)


def _promote(
    settings: Settings, store: RunStore, forge: Forge, request: PromoteRequest
) -> PromoteResult:
    repo = _repository(settings, forge, request.dry_run)
    champion_path = settings.champion_file.as_posix()
    selection, listing = select_best(
        settings,
        store,
        request.run,
        request.objective,
        champion=lambda: _champion_at(repo.git, repo.base_ref, repo.prefix + champion_path),
    )
    log.info("%s: %s", selection.decision.value, selection.summary)
    facts, remote_sha = _facts(settings, selection, repo, forge, request)
    decided = plan(facts)
    log.debug("plan: %s", decided.action.value)
    winner = selection.winner.run if selection.winner else None
    if decided.action in (Action.REPORT, Action.CLOSE_STALE):
        if decided.action is Action.CLOSE_STALE:
            _close_stale(forge, decided, selection)
        return PromoteResult(
            _NOT_PROMOTED[selection.decision], selection.summary, winner.id if winner else None
        )
    assert winner is not None and facts.branch is not None
    if decided.action is Action.UNCHANGED:
        assert decided.pr is not None
        # An interrupted run may have opened the PR without its labels or people: converge.
        title = title_of(settings, selection)
        forge.update(decided.pr.number, _draft(settings, title, decided.pr.body, facts.branch))
        return PromoteResult(
            Outcome.UNCHANGED,
            decided.message,
            winner.id,
            facts.branch,
            decided.pr.number,
            decided.pr.url,
        )
    if decided.action is Action.DECLINED:
        return PromoteResult(Outcome.DECLINED, decided.message, winner.id, facts.branch)
    if decided.action is Action.REFUSE:
        # Said once: the nightly meets the same refusal every night until someone acts.
        if decided.pr is not None and not forge.has_comment(decided.pr.number, decided.message):
            forge.comment(decided.pr.number, decided.message)
        return PromoteResult(Outcome.REFUSED, decided.message, winner.id, facts.branch)
    if decided.message:
        log.info("%s", decided.message)
    job = _Job(settings, store, forge, request, repo)
    return _build_and_publish(job, selection, listing.runs, decided, facts.branch, remote_sha)


def _repository(settings: Settings, forge: Forge, dry_run: bool) -> _Repository:
    git = _git(settings.project, forge)
    top = git.toplevel().resolve()
    remote = git.default_remote()
    if remote is None and not dry_run:
        raise PromoterError("the repository has no git remote to push the branch to")
    target = _remote_target(git, top, remote) if remote is not None else None
    base_ref = _fetch_base(git, remote, target, settings.config.pr.base)
    return _Repository(git, top, path_prefix(top, settings.project), target, base_ref)


def _remote_target(git: Git, top: Path, remote: str) -> str:
    """The remote's name, or its URL made absolute from the checkout's top when relative."""
    url = git.remote_url(remote)
    if not is_relative_path(url):
        return remote
    absolute = (top / url).resolve()
    if not absolute.exists():
        raise PromoterError(f"git remote {remote}: {url} resolves to {absolute}, which is missing")
    return str(absolute)


def _facts(
    settings: Settings,
    selection: Selection,
    repo: _Repository,
    forge: Forge,
    request: PromoteRequest,
) -> tuple[Facts, str | None]:
    """Everything the planner needs, and the branch's sha on the remote."""
    winner = selection.winner
    facts = Facts(
        decision=selection.decision,
        run_id=winner.run.id if winner else None,
        champion_run_id=selection.champion.champion.run_id if selection.champion else None,
        dry_run=request.dry_run,
        base=settings.config.pr.base,
        explicit_run=request.run is not None,
        recreate=request.recreate,
        prefix=settings.config.commands.prefix,
        pull_reference=forge.pull_reference,
    )
    if winner is None:
        return facts, None
    branch = branch_name(settings, selection)
    if not repo.git.check_branch_name(branch):
        raise UsageError(f"pr.branch: {branch!r} is not a valid branch name")
    opened = [] if request.dry_run else list(forge.pulls(branch))
    facts = replace(
        facts,
        branch=branch,
        open_pr=next((p for p in opened if marked_run(p.body)), None),
        foreign_prs=tuple(p for p in opened if not marked_run(p.body)),
    )
    if selection.decision is not Decision.PROMOTE:
        return facts, None
    remote_sha = repo.git.remote_branch_sha(repo.remote, branch) if repo.remote else None
    foreign: list[str] = []
    conflicts = False
    if remote_sha and repo.remote is not None:
        foreign = _foreign_commits(repo.git, repo.remote, branch, repo.base_ref, remote_sha)
        conflicts = _conflicts_with_base(repo.git, repo.base_ref, remote_sha)
    # A run asked for by id may be proposed again: the closed PRs are not asked for then.
    asked = request.dry_run or request.run is not None
    declined = None if asked else _declined(forge, branch, winner.run.id)
    facts = replace(
        facts,
        declined=declined,
        branch_exists=remote_sha is not None,
        foreign_commits=tuple(foreign),
        conflicts_with_base=conflicts,
    )
    return facts, remote_sha


def _declined(forge: Forge, branch: str, run_id: str) -> PullRequest | None:
    """A promotion PR of ``run_id`` that was closed without merging: "not this run"."""
    closed = forge.pulls(branch, PullState.CLOSED)
    return next((p for p in closed if not p.merged and marked_run(p.body) == run_id), None)


def _close_stale(forge: Forge, decided: Plan, selection: Selection) -> None:
    """Close the open promotion PR of this op: its run no longer beats the champion."""
    pull = decided.pr
    assert pull is not None
    run = marked_run(pull.body) or ""
    forge.comment(pull.number, CLOSED_STALE.format(run=run[:8], summary=selection.summary))
    forge.close(pull.number)
    log.info("closed PR #%d: its run no longer beats the champion", pull.number)


def _build_and_publish(
    job: _Job,
    selection: Selection,
    runs: Sequence[Run],
    decided: Plan,
    branch: str,
    remote_sha: str | None,
) -> PromoteResult:
    from promoter.promotion.body import render_record_body
    from promoter.promotion.build import BuildRequest, Workspace, build_branch
    from promoter.promotion.merge.source import MergeConflict
    from promoter.tools.worktree import scratch_worktree

    assert selection.winner is not None
    settings, repo, forge, request = job.settings, job.repo, job.forge, job.request
    subdir = settings.project.relative_to(repo.top)
    with scratch_worktree(repo.git, repo.base_ref, selection.winner.run.short_id) as worktree:
        workspace = Workspace(
            worktree, worktree / subdir, repo.top, _git(worktree, forge), repo.remote, repo.prefix
        )
        try:
            built = build_branch(
                settings,
                job.store,
                BuildRequest(
                    selection=selection,
                    runs=runs,
                    trigger=request.trigger,
                    pr=PrInfo(
                        branch=branch,
                        base=settings.config.pr.base,
                        title=title_of(settings, selection),
                        command_prefix=settings.config.commands.prefix,
                        candidates=settings.config.pr.candidates,
                    ),
                    dry_run=request.dry_run,
                    # Only a user's template can fail on data; the built-in one is tested.
                    check_body=(
                        (
                            lambda record: render_record_body(
                                settings, record, forge, branch, _NO_COMMIT, repo.prefix
                            )
                        )
                        if settings.config.pr.template
                        else None
                    ),
                ),
                workspace,
            )
        except MergeConflict as conflict:
            log.warning("warning: %s", conflict)
            return PromoteResult(
                Outcome.CONFLICT,
                str(conflict),
                selection.winner.run.id,
                branch,
                conflicts=conflict.files,
            )
        record = built.record
        # Rendered before the push: a broken user template must not leave a pushed branch.
        body = render_record_body(settings, record, forge, branch, built.commit, repo.prefix)
        if decided.action is Action.DRY_RUN:
            return _result(Outcome.DRY_RUN, selection, branch, record, body)
        assert repo.remote is not None
        workspace.git.push(
            repo.remote, branch, expected_sha=remote_sha, force=remote_sha is not None
        )
        log.info("pushed %s to %s/%s", built.commit[:12], repo.remote, branch)
        linked = [p.path for p in record.plots] + [record_path(record.run.id)]
        files = {repo.prefix + path: workspace.project_dir / path for path in linked}
        draft = _draft(settings, record.pr.title, body, branch, files)
        return _open_or_update(forge, decided, draft, selection, record)


def _draft(
    settings: Settings,
    title: str,
    body: str,
    branch: str,
    files: Mapping[str, Path] | None = None,
) -> PullRequestDraft:
    pr = settings.config.pr
    return PullRequestDraft(
        title=title,
        body=body,
        branch=branch,
        base=pr.base,
        labels=pr.labels,
        reviewers=pr.reviewers,
        assignees=pr.assignees,
        draft=pr.draft,
        files=files or {},
    )


def _open_or_update(
    forge: Forge,
    decided: Plan,
    draft: PullRequestDraft,
    selection: Selection,
    record: PromotionRecord,
) -> PromoteResult:
    pull: PullRequest
    if decided.action is Action.CREATE:
        pull = forge.create(draft)
        outcome = Outcome.PROMOTED
    else:
        assert decided.pr is not None
        pull = forge.update(decided.pr.number, draft)
        outcome = Outcome.UPDATED
        if decided.replaces_run:
            forge.comment(
                pull.number,
                SUPERSEDED.format(
                    old=decided.replaces_run[:8],
                    new=record.run.short_id,
                    summary=selection.summary,
                ),
            )
    log.info("%s PR #%d: %s", outcome.value, pull.number, pull.url)
    return _result(outcome, selection, draft.branch, record, draft.body, pull.number, pull.url)


def _git(path: Path, forge: Forge) -> Git:
    """Git in ``path``, talking to the remote with the forge's token when it has one."""
    git = Git(path)
    credentials = forge.git_credentials()
    if credentials is None:
        return git
    return git.authenticated(credentials.server_url, credentials.username, credentials.token)


def _champion_at(git: Git, base_ref: str, path: str) -> Champion | None:
    """The champion on the base branch: what the promotion must beat, whatever is checked out."""
    data = git.show_file(base_ref, path)
    if data is None:
        return None
    return parse_champion(data.decode("utf-8", errors="replace"), f"{base_ref}:{path}")


def _fetch_base(git: Git, remote: str | None, target: str | None, base: str) -> str:
    if remote is None or target is None:
        if git.rev_parse(base) is None:
            raise PromoterError(f"pr.base: no branch {base!r} in this repository")
        return base
    tracking = f"refs/remotes/{remote}/{base}"
    try:
        git.fetch(target, [f"+refs/heads/{base}:{tracking}"])
    except PromoterError as e:
        raise PromoterError(f"pr.base: cannot fetch {base!r} from {remote}: {e}") from e
    return tracking


def _foreign_commits(git: Git, remote: str, branch: str, base_ref: str, sha: str) -> list[str]:
    """Commits on the remote branch that promoter did not make, described for a person.

    A merge of the base into the branch that changed nothing git's own merge would not (the
    forge's "Update branch" button) is not someone's work: the branch is rebuilt on the base.
    """
    git.fetch(remote, [f"+refs/heads/{branch}:refs/promoter/branches/{branch}"])
    # Authors and subjects are anyone's text, posted back in a comment: a code span keeps them
    # inert (no mention, no reference, no quick action on either forge).
    return [
        code_span(f"{c.sha[:8]} ({c.author_name}: {c.subject})")
        for c in git.commits_between(base_ref, sha)
        if RUN_TRAILER not in c.trailers and not _base_merged_in(git, c, base_ref)
    ]


def _conflicts_with_base(git: Git, base_ref: str, sha: str) -> bool:
    """Whether the (fetched) branch at ``sha`` no longer merges into the base; ``False``
    when this git cannot tell without a checkout (older than 2.38)."""
    return git.can_merge_trees() and git.merged_tree(base_ref, sha) is None


def _base_merged_in(git: Git, commit: CommitInfo, base_ref: str) -> bool:
    if len(commit.parents) != 2:
        return False
    ours, theirs = commit.parents
    if not (git.can_merge_trees() and git.is_ancestor(theirs, base_ref)):
        return False
    return git.merged_tree(ours, theirs) == commit.tree


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
