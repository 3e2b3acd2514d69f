"""``promoter register`` and the push to ``pr.base``: tag the commit that made each track's
champion champion, ``<name>@v<semver>``, annotated, and push the tag, never moving one.

Gathers the facts (the base and the tags as the remote has them), lets :mod:`.plan` decide,
then acts. A second run finds the tag and adds nothing. Two jobs at once: the push of a tag
only creates it, so the loser looks again and either finds the run registered or takes the
next version.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from promoter.core.champion import ChampionDocument
from promoter.errors import PromoterError, UsageError
from promoter.forges.base import Forge, PullState
from promoter.forges.markers import marked_run
from promoter.registry.champions import configured_op
from promoter.registry.history import champion_changes, current_champion
from promoter.registry.plan import (
    DRY_RUN,
    Decision,
    Plan,
    RegistrationFacts,
    plan_registration,
    pull_number_in,
    tag_message,
)
from promoter.registry.repo import Repository, open_repository
from promoter.registry.versions import registry_name
from promoter.settings import Settings

log = logging.getLogger("promoter")

ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RegisterRequest:
    """A registration by hand, or after a push (``before``: the base's commit before it)."""

    dry_run: bool = False
    pushed: bool = False
    before: str | None = None
    """The commit the pushed branch was at before the push; ``None`` for a new branch."""


@dataclass(frozen=True, slots=True)
class Registration:
    """What happened to one track."""

    name: str
    """The registry's artifact name: the track's, or the operation's."""
    decision: Decision
    summary: str
    track: str | None = None
    run_id: str | None = None
    tag: str | None = None
    version: str | None = None
    commit: str | None = None
    created: bool = False
    """A tag was made by this run (``False``: it existed, or a dry run)."""
    pr_number: int | None = None
    pr_url: str | None = None


def register_tracks(
    settings: Settings,
    forge: Forge,
    request: RegisterRequest,
    base: str | None = None,
    repo: Repository | None = None,
) -> list[Registration]:
    """Register every track (or ``--track``'s) whose ``pr.base`` is ``base`` (any, if None)."""
    repo = repo or open_repository(settings.project, forge)
    chosen = [t for t in settings.tracks() if base is None or t.config.pr.base == base]
    return [register(each, forge, request, repo) for each in chosen]


def register(
    settings: Settings, forge: Forge, request: RegisterRequest, repo: Repository | None = None
) -> Registration:
    """Register the champion of the settings' track on ``pr.base``."""
    repo = repo or open_repository(settings.project, forge)
    base = settings.config.pr.base
    base_ref = repo.base_ref(base)
    path = repo.prefix + settings.champion_file.as_posix()
    champion = current_champion(repo.git, base_ref, path)
    name = registry_name(settings.track, champion.op if champion else configured_op(settings))
    changes = champion_changes(repo.git, base_ref, path) if champion else []
    before_champion, before_known = _before(repo, request, path)
    for attempt in range(1, ATTEMPTS + 1):
        facts = RegistrationFacts(
            name=name,
            base=base,
            bump=settings.config.registry.bump,
            champion=champion,
            introduced=changes[-1] if changes else None,
            tags=repo.tags(),
            pushed=request.pushed,
            before_champion=before_champion,
            before_known=before_known,
        )
        plan = plan_registration(facts)
        log.info("%s: %s", plan.decision.value, plan.summary)
        if not plan.create:
            return _result(settings, name, plan)
        assert champion is not None and plan.tag is not None and plan.commit is not None
        pull = _pull(settings, forge, repo, champion, plan.commit)
        if request.dry_run:
            summary = DRY_RUN.format(
                run=champion.run_id[:8], name=name, tag=plan.tag, commit=plan.commit[:12]
            )
            dry = replace(plan, decision=Decision.DRY_RUN, summary=summary)
            return _result(settings, name, dry, pull=pull)
        tag = repo.git.make_tag(plan.tag, plan.commit, tag_message(plan, champion, name, pull))
        if _publish(repo, plan.tag, tag, last=attempt == ATTEMPTS):
            return _result(settings, name, plan, pull=pull, created=True)
    raise AssertionError("unreachable")  # pragma: no cover


def _before(repo: Repository, request: RegisterRequest, path: str) -> tuple[str | None, bool]:
    """The champion's run before the push, and whether it could be read."""
    # The push trigger gives no ``before`` for a new branch (git's all-zeros id).
    if not request.pushed or not request.before:
        return None, True
    if not repo.has_commit(request.before):
        log.warning("warning: the commit before the push, %s, is not here", request.before[:12])
        return None, False
    document = current_champion(repo.git, request.before, path)
    return (document.run_id if document else None), True


def _publish(repo: Repository, name: str, tag: str, *, last: bool) -> bool:
    """Push the tag object so that it only creates ``refs/tags/<name>``; False when another
    job made that tag meanwhile (look again)."""
    ref = f"refs/tags/{name}"
    if repo.remote is not None:
        try:
            repo.git.push_new_ref(repo.remote, tag, ref)
        except PromoterError:
            taken = any(existing == name for existing, _, _ in repo.git.tags(repo.remote))
            if not taken or last:
                raise
            log.warning("warning: %s appeared on the remote meanwhile: looking again", name)
            return False
        log.info("pushed tag %s", name)
    if not repo.git.create_ref(ref, tag):
        if repo.remote is None:
            if last:
                raise PromoterError(f"tag {name} exists already in this repository")
            return False
        # The remote holds the registration; a local tag of that name is the user's own.
        log.warning("warning: a local tag %s exists already: left as it is", name)
    return True


def _pull(
    settings: Settings, forge: Forge, repo: Repository, champion: ChampionDocument, commit: str
) -> tuple[int | None, str | None]:
    """The merged promotion PR of the champion's run: asked of the forge (its branch and
    hidden marker), else read from the merge commit's message."""
    branch = _branch(settings, champion)
    if branch is not None:
        try:
            for pull in forge.pulls(branch, PullState.CLOSED):
                if pull.merged and marked_run(pull.body) == champion.run_id:
                    return pull.number, pull.url
        except PromoterError as e:
            log.warning("warning: cannot list the pull requests of %s: %s", branch, e)
    return pull_number_in(repo.git.commit_message(commit)), None


def _branch(settings: Settings, champion: ChampionDocument) -> str | None:
    from promoter.promotion.naming import branch_of

    objective = champion.objective
    try:
        return branch_of(
            settings, champion.op or "", champion.run_id, objective.name or "", objective.value
        )
    except UsageError:
        return None


def _result(
    settings: Settings,
    name: str,
    plan: Plan,
    *,
    pull: tuple[int | None, str | None] = (None, None),
    created: bool = False,
) -> Registration:
    return Registration(
        name=name,
        decision=plan.decision,
        summary=plan.summary,
        track=settings.track,
        run_id=plan.run_id,
        tag=plan.tag,
        version=str(plan.version) if plan.version else None,
        commit=plan.commit,
        created=created,
        pr_number=pull[0],
        pr_url=pull[1],
    )


def overall(results: Sequence[Registration]) -> Decision:
    """The job's one decision: registered if any track is, a dry run if any would be."""
    for decision in (Decision.REGISTERED, Decision.DRY_RUN):
        if any(r.decision is decision for r in results):
            return decision
    return Decision.IGNORED
