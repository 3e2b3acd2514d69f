"""``issue_comment``: the ``/promote`` slash commands, for users with enough permission.

The author's permission is asked of the API (never taken from the payload). The bot reacts
👀 when it starts and 🚀 or 😕 when done, and replies quoting the command.
"""

from __future__ import annotations

import logging

from promoter.errors import PromoterError
from promoter.forges.github import PERMISSION_LEVELS
from promoter.hosts.github_actions.event import should_ignore
from promoter.promotion.promote import Outcome, PromoteRequest, PromoteResult, promote
from promoter.render.escape import code_span, link, md_escape
from promoter.triggers.commands import Command, CommandKind, help_text, parse_command
from promoter.triggers.context import TriggerContext, trigger_info
from promoter.triggers.router import handles

log = logging.getLogger("promoter")

REFUSED_PERMISSION = (
    "@{author} needs at least `{needed}` permission on this repository to run this command "
    "(has `{role}`)."
)


@handles("issue_comment")
def on_comment(context: TriggerContext) -> PromoteResult:
    """Parse, check permission, run the command, react and reply."""
    event = context.event
    comment = event.comment
    prefix = context.settings.config.commands.prefix
    ignored = should_ignore(event, prefix)
    if ignored or comment is None:
        log.info("comment ignored: %s", ignored)
        return PromoteResult(Outcome.IGNORED, ignored or "no comment in the event")
    command = parse_command(comment.body, prefix)
    assert command is not None
    forge = context.forge
    forge.react(comment.id, "eyes")
    try:
        outcome = _run(context, command)
    except PromoterError as e:
        _reply(context, command, f"😕 failed: {md_escape(str(e))}")
        forge.react(comment.id, "confused")
        raise
    forge.react(comment.id, "confused" if outcome.decision == "refused" else "rocket")
    return outcome


def _run(context: TriggerContext, command: Command) -> PromoteResult:
    comment = context.event.comment
    assert comment is not None
    needed = context.settings.config.commands.min_permission
    role = context.forge.permission(comment.author)
    if PERMISSION_LEVELS.index(role) < PERMISSION_LEVELS.index(needed):
        text = REFUSED_PERMISSION.format(author=md_escape(comment.author), needed=needed, role=role)
        _reply(context, command, text)
        return PromoteResult(Outcome.REFUSED, text)
    if command.kind is CommandKind.INVALID:
        # command.error is already Markdown made by the parser, the bad token in a code span.
        text = f"{command.error or 'not a command'}\n\n{help_text(_prefix(context))}"
        _reply(context, command, text)
        return PromoteResult(Outcome.REFUSED, command.error or "invalid command")
    if command.kind is CommandKind.HELP:
        _reply(context, command, help_text(_prefix(context)))
        return PromoteResult(Outcome.HELP, "help sent")
    if command.kind is CommandKind.COMPARE:
        from promoter.triggers.compare import compare_table

        table = compare_table(context.settings, command.run, command.other)
        _reply(context, command, table)
        return PromoteResult(
            Outcome.COMPARED, f"compared {command.run} with {command.other or 'champion'}"
        )
    request = PromoteRequest(
        command.run,
        None,
        command.dry_run or context.inputs.dry_run,
        trigger_info(context.event, comment.author),
    )
    outcome = promote(context.settings, request, context.forge)
    _reply(context, command, _result_text(outcome))
    return outcome


def _prefix(context: TriggerContext) -> str:
    return context.settings.config.commands.prefix


def _result_text(outcome: PromoteResult) -> str:
    line = f"**{outcome.decision}**: {md_escape(outcome.summary)}"
    if outcome.pr_number:
        line += f" — pull request #{outcome.pr_number}"
    return line


def _reply(context: TriggerContext, command: Command, text: str) -> None:
    comment = context.event.comment
    assert comment is not None
    lines = [f"> {code_span(command.text)}", "", text]
    if context.event.run_url:
        lines += ["", link("workflow run", context.event.run_url)]
    context.forge.comment(comment.number, "\n".join(lines))
