"""Slash commands in comments (``/promote ...``), for users with enough permission.

The author's role is asked of the forge (never taken from the event). The bot reacts 👀 when
it starts and 🚀 or 😕 when done, and replies quoting the command.
"""

from __future__ import annotations

import logging
from typing import Final

from promoter.errors import PromoterError
from promoter.forges.base import Reaction, Role
from promoter.promotion.outcome import PromoteResult
from promoter.render.escape import code_span, link, md_escape
from promoter.triggers.commands import Command, CommandKind, help_text, parse_command
from promoter.triggers.context import TriggerContext, trigger_info
from promoter.triggers.events import IGNORED_BOT, CommentTrigger, TriggerKind, should_ignore
from promoter.triggers.result import BotOutcome, TriggerResult
from promoter.triggers.router import handles

log = logging.getLogger("promoter")

REFUSED_PERMISSION: Final = (
    "@{author} needs at least `{needed}` permission on this repository to run this command "
    "(has `{role}`)."
)
NOT_ON_ISSUES: Final = (
    "promoter takes commands in pull (merge) request conversations only; nothing was done "
    "(`commands.on_issues: true` in the config allows them on issues)."
)


@handles(TriggerKind.COMMENT)
def on_comment(context: TriggerContext) -> TriggerResult:
    """Parse, check permission, run the command, react and reply."""
    comment = context.trigger.comment
    prefix = context.settings.config.commands.prefix
    ignored = should_ignore(context.trigger, prefix)
    if ignored or comment is None:
        log.info("comment ignored: %s", ignored)
        return TriggerResult(BotOutcome.IGNORED, ignored or "no comment in the event")
    command = parse_command(comment.body, prefix)
    assert command is not None
    forge = context.forge
    if forge.is_bot(comment.author):
        ignored = IGNORED_BOT.format(login=comment.author)
        log.info("comment ignored: %s", ignored)
        return TriggerResult(BotOutcome.IGNORED, ignored)
    forge.react(comment.ref, Reaction.EYES)
    try:
        result = _run(context, comment, command)
    except PromoterError as e:
        _reply(context, comment, command, f"😕 failed: {md_escape(str(e))}")
        forge.react(comment.ref, Reaction.CONFUSED)
        raise
    refused = result.decision in (BotOutcome.REFUSED, BotOutcome.IGNORED)
    forge.react(comment.ref, Reaction.CONFUSED if refused else Reaction.ROCKET)
    return result


def _run(context: TriggerContext, comment: CommentTrigger, command: Command) -> TriggerResult:
    needed = Role.named(context.settings.config.commands.min_permission)
    role = context.forge.role(comment.author)
    if role < needed:
        text = REFUSED_PERMISSION.format(author=md_escape(comment.author), needed=needed, role=role)
        _reply(context, comment, command, text)
        return TriggerResult(BotOutcome.REFUSED, text)
    commands = context.settings.config.commands
    if not comment.on_pull_request and not commands.on_issues:
        _reply(context, comment, command, NOT_ON_ISSUES)
        return TriggerResult(BotOutcome.IGNORED, NOT_ON_ISSUES)
    prefix = commands.prefix
    if command.kind is CommandKind.INVALID:
        # command.error is already Markdown made by the parser, the bad token in a code span.
        text = f"{command.error or 'not a command'}\n\n{help_text(prefix)}"
        _reply(context, comment, command, text)
        return TriggerResult(BotOutcome.REFUSED, command.error or "invalid command")
    if command.kind is CommandKind.HELP:
        _reply(context, comment, command, help_text(prefix))
        return TriggerResult(BotOutcome.HELP, "help sent")
    if command.kind is CommandKind.COMPARE:
        from promoter.triggers.compare import compare_table

        table = compare_table(context.settings, context.store, command.run, command.other)
        _reply(context, comment, command, table)
        return TriggerResult(
            BotOutcome.COMPARED, f"compared {command.run} with {command.other or 'champion'}"
        )
    # Imported here: help, compare and ignored comments never load the promotion machinery.
    from promoter.promotion.promote import PromoteRequest, promote_tracks

    request = PromoteRequest(
        command.run,
        None,
        command.dry_run or context.trigger.dry_run,
        trigger_info(context.trigger, comment.author),
        recreate=command.kind is CommandKind.RECREATE,
    )
    results = promote_tracks(context.settings, context.store, context.forge, request)
    text = "\n\n".join(_result_text(r, context.forge.pull_reference) for r in results)
    _reply(context, comment, command, text)
    return TriggerResult.of(results)


def _result_text(outcome: PromoteResult, pull_reference: str) -> str:
    track = f"track {md_escape(outcome.track)}: " if outcome.track else ""
    line = f"{track}**{outcome.decision}**: {md_escape(outcome.summary)}"
    if outcome.pr_number:
        # As the forge links them: "#2" on GitLab would be issue 2.
        line += " — " + pull_reference.format(number=outcome.pr_number)
    return line


def _reply(context: TriggerContext, comment: CommentTrigger, command: Command, text: str) -> None:
    lines = [f"> {code_span(command.text)}", "", text]
    if context.trigger.run_url:
        lines += ["", link("CI run", context.trigger.run_url)]
    context.forge.reply(comment.ref, "\n".join(lines))
