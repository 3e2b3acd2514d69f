"""A push: after a promotion PR is merged into ``pr.base``, register the new champion.

Hosts map their own event onto a neutral :class:`PushTrigger` (GitHub ``push``, GitLab's
push pipeline); this module decides from it alone. Tag pushes (promoter's own registration
tags included, when a token that starts workflows pushed them), deleted branches and pushes
to other branches are ignored, as is a push that changed no champion.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from promoter.triggers.context import TriggerContext
from promoter.triggers.events import PushTrigger, TriggerKind
from promoter.triggers.result import BotOutcome, TriggerResult
from promoter.triggers.router import handles

ZERO_SHA: Final = "0" * 40
NO_PUSH: Final = "the push event names no ref"
TAG_PUSH: Final = "a tag push ({tag}): registrations follow pushes to a branch, never tags"
DELETED: Final = "the branch {branch} was deleted: nothing to register"
OTHER_BRANCH: Final = "a push to {branch}, not to pr.base ({bases}): nothing to register"
NOT_A_BRANCH: Final = "a push to {ref}, which is not a branch: nothing to register"


def why_ignored(push: PushTrigger | None, bases: Collection[str]) -> str | None:
    """Why a push registers nothing before anything is read, or ``None`` when it may."""
    if push is None or not push.ref:
        return NO_PUSH
    if push.ref.startswith("refs/tags/"):
        return TAG_PUSH.format(tag=push.ref.removeprefix("refs/tags/"))
    if not push.ref.startswith("refs/heads/"):
        return NOT_A_BRANCH.format(ref=push.ref)
    branch = push.ref.removeprefix("refs/heads/")
    if push.after is None or push.after == ZERO_SHA:
        return DELETED.format(branch=branch)
    if branch not in bases:
        return OTHER_BRANCH.format(branch=branch, bases=", ".join(sorted(bases)))
    return None


@handles(TriggerKind.PUSH)
def on_push(context: TriggerContext) -> TriggerResult:
    """Register each track whose ``pr.base`` received the push; write the history."""
    from promoter.registry.register import RegisterRequest, overall, register_tracks
    from promoter.registry.repo import open_repository
    from promoter.registry.report import job_report, one_line

    settings, push = context.settings, context.trigger.push
    bases = {t.config.pr.base for t in settings.tracks()}
    reason = why_ignored(push, bases)
    if reason is not None:
        return TriggerResult(BotOutcome.IGNORED.value, reason)
    assert push is not None
    before = None if push.before in (None, "", ZERO_SHA) else push.before
    request = RegisterRequest(dry_run=context.trigger.dry_run, pushed=True, before=before)
    branch = push.ref.removeprefix("refs/heads/")
    # One repository for the registrations and the history: the base is fetched once.
    repo = open_repository(settings.project, context.forge)
    results = register_tracks(settings, context.forge, request, base=branch, repo=repo)
    report, plot = job_report(settings, context.forge, results, repo)
    return TriggerResult(
        overall(results).value,
        one_line(results),
        registrations=tuple(results),
        report=report,
        plot=plot,
    )
