"""``workflow_dispatch``: promote the best run, or the run given, as the inputs say."""

from __future__ import annotations

from promoter.errors import UsageError
from promoter.promotion.promote import PromoteRequest, PromoteResult, promote
from promoter.triggers.context import TriggerContext, trigger_info
from promoter.triggers.router import handles


@handles("workflow_dispatch")
def on_dispatch(context: TriggerContext) -> PromoteResult:
    """Inputs of the dispatch (``run``, ``dry_run``, ``objective``) override the action's."""
    from promoter.hosts.github_actions.runner_io import parse_bool, valid_run_id

    given = context.event.inputs
    run = given.get("run") or context.inputs.run
    if run:
        run = valid_run_id(run, "run")
    dry_run = context.inputs.dry_run
    if given.get("dry_run"):
        dry_run = parse_bool(given["dry_run"], "dry_run")
    objective = given.get("objective") or context.inputs.objective
    if objective is not None and len(objective) > 200:
        raise UsageError("objective: longer than 200 characters")
    request = PromoteRequest(run, objective, dry_run, trigger_info(context.event))
    return promote(context.settings, request, context.forge)
