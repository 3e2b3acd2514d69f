"""Slash commands in issue and PR comments: a pure parser that never raises on comment text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from promoter.core.runids import RULE, parse_run_id
from promoter.errors import UsageError
from promoter.render.escape import code_span

DEFAULT_PREFIX: Final = "/promote"
DRY_RUN_FLAG: Final = "--dry-run"
# Phones and macOS turn a typed "--" into an en or em dash; dry-run is the safe direction.
_DRY_RUN_SPELLINGS: Final = frozenset({DRY_RUN_FLAG, "\u2014dry-run", "\u2013dry-run"})
HELP: Final = "help"
COMPARE: Final = "compare"
RECREATE: Final = "recreate"
MAX_TEXT_CHARS: Final = 200
MAX_TOKEN_CHARS: Final = 40

UNKNOWN_OPTION: Final = "unknown option {token}: the only option is `--dry-run`"
NOT_A_COMMAND: Final = (
    "{token} is neither a command (`compare`, `recreate`, `help`) nor a run id (" + RULE + ")"
)
NOT_A_RUN_ID: Final = "{token} is not a run id (" + RULE + ")"
EXTRA_AFTER_RUN: Final = "unexpected {token} after the run id: one run is promoted at a time"
HELP_ARGUMENTS: Final = "`help` takes no arguments, got {token}"
RECREATE_ARGUMENTS: Final = "`recreate` takes no arguments, got {token}"
COMPARE_ARGUMENTS: Final = "`compare` takes one or two run ids, got {count}"
COMPARE_SAME_RUN: Final = "`compare` needs two different runs, got {token} twice"
BAD_PREFIX: Final = (
    "commands.prefix must be one word without spaces, not starting with '>', got {prefix!r}"
)

HELP_TEXT: Final = """\
**promoter** answers these commands, each on a line of its own in a comment:

| command | does |
|---|---|
| {bare} | promote the best run, if it beats the champion |
| {run} | promote that run (its id, or a unique prefix of 4 to 32 hexadecimal characters) |
| {dry} | show what would be promoted and change nothing (also after a run id) |
| {compare} | compare two runs, or one run with the champion |
| {recreate} | rebuild the promotion branch on the base, dropping commits promoter did not make |
| {help} | show this help |
"""
HELP_PERMISSION: Final = (
    "\nOnly people with at least {permission} permission on the repository can give commands; "
    "edited comments and comments by bots are ignored.\n"
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A fence may open a list item ("- ```"); its code is as much code as any other.
_FENCE_OPEN = re.compile(r"(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)*(`{3,}|~{3,})(.*)")


class CommandKind(StrEnum):
    """What a slash command asks for."""

    PROMOTE = "promote"
    COMPARE = "compare"
    RECREATE = "recreate"
    HELP = "help"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """One parsed slash command; ``text`` is the line as written (untrusted: escape it)."""

    kind: CommandKind
    text: str
    run: str | None = None
    other: str | None = None
    dry_run: bool = False
    error: str | None = None


def quote_token(token: str) -> str:
    """``token`` shortened and shown as an inert Markdown code span on one line."""
    shown = token if len(token) <= MAX_TOKEN_CHARS else token[: MAX_TOKEN_CHARS - 1] + "…"
    return str(code_span(shown))


def open_fences(lines: Iterable[str]) -> list[str | None]:
    """For each Markdown line, the code fence still open after it (its opening run), or None."""
    states: list[str | None] = []
    fence: str | None = None
    for line in lines:
        stripped = line.strip()
        if fence is None:
            opened = _FENCE_OPEN.fullmatch(stripped)
            # A backtick fence's info string cannot hold a backtick: "```x```" is inline code.
            if opened and not (opened[1][0] == "`" and "`" in opened[2]):
                fence = opened[1]
        elif len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            fence = None
        states.append(fence)
    return states


def parse_command(body: str, prefix: str = DEFAULT_PREFIX) -> Command | None:
    """The command on the first line starting with ``prefix``, or ``None`` when there is none."""
    _check_prefix(prefix)
    lines = _LINE_BREAK.split(body)
    before: str | None = None
    for line, after in zip(lines, open_fences(lines), strict=True):
        in_code = before is not None or after is not None
        before = after
        if in_code:
            continue
        # A quoted line (a reply quoting an earlier command) starts with ">", never the prefix.
        tokens = line.split()
        if tokens and tokens[0] == prefix:
            return _parse_arguments(tokens[1:], _shorten(line.strip()))
    return None


def help_text(prefix: str = DEFAULT_PREFIX, min_permission: str | None = None) -> str:
    """The Markdown reply to ``<prefix> help``, listing the commands."""
    _check_prefix(prefix)
    text = HELP_TEXT.format(
        bare=code_span(prefix),
        run=code_span(f"{prefix} <run-id>"),
        dry=code_span(f"{prefix} {DRY_RUN_FLAG}"),
        compare=code_span(f"{prefix} {COMPARE} <run-a> [<run-b>]"),
        recreate=code_span(f"{prefix} {RECREATE}"),
        help=code_span(f"{prefix} {HELP}"),
    )
    if min_permission:
        text += HELP_PERMISSION.format(permission=code_span(min_permission))
    return text


def _check_prefix(prefix: str) -> None:
    if not prefix or prefix.split() != [prefix] or prefix.startswith(">"):
        raise UsageError(BAD_PREFIX.format(prefix=prefix))


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Problem:
    position: int
    template: str
    token: str = ""
    count: int = 0


_Parsed = tuple[CommandKind, str | None, str | None]


def _parse_arguments(arguments: Sequence[str], text: str) -> Command:
    dry_run = False
    words: list[tuple[int, str]] = []
    problems: list[_Problem] = []
    for position, token in enumerate(arguments):
        if token in _DRY_RUN_SPELLINGS:
            dry_run = True
        elif token.startswith(("-", "\u2014", "\u2013")):
            problems.append(_Problem(position, UNKNOWN_OPTION, token))
        else:
            words.append((position, token))
    parsed = _parse_words(words, len(arguments))
    if isinstance(parsed, _Problem):
        problems.append(parsed)
    elif not problems:
        kind, run, other = parsed
        return Command(kind=kind, text=text, run=run, other=other, dry_run=dry_run)
    # The reply names the leftmost offending token, as the user reads the line.
    first = min(problems, key=lambda problem: problem.position)
    error = first.template.format(token=quote_token(first.token), count=first.count)
    return Command(kind=CommandKind.INVALID, text=text, error=error)


def _parse_words(words: Sequence[tuple[int, str]], end: int) -> _Parsed | _Problem:
    if not words:
        return CommandKind.PROMOTE, None, None
    first, rest = words[0][1], words[1:]
    if first == HELP:
        if rest:
            return _Problem(rest[0][0], HELP_ARGUMENTS, rest[0][1])
        return CommandKind.HELP, None, None
    if first == RECREATE:
        if rest:
            return _Problem(rest[0][0], RECREATE_ARGUMENTS, rest[0][1])
        return CommandKind.RECREATE, None, None
    if first == COMPARE:
        return _parse_compare(rest, end)
    run = parse_run_id(first)
    if run is None:
        return _Problem(words[0][0], NOT_A_COMMAND, first)
    if rest:
        return _Problem(rest[0][0], EXTRA_AFTER_RUN, rest[0][1])
    return CommandKind.PROMOTE, run, None


def _parse_compare(words: Sequence[tuple[int, str]], end: int) -> _Parsed | _Problem:
    runs: list[str] = []
    for position, word in words[:2]:
        run = parse_run_id(word)
        if run is None:
            return _Problem(position, NOT_A_RUN_ID, word)
        runs.append(run)
    if not 1 <= len(words) <= 2:
        return _Problem(end, COMPARE_ARGUMENTS, count=len(words))
    if len(runs) == 2 and runs[0] == runs[1]:
        return _Problem(words[1][0], COMPARE_SAME_RUN, words[1][1])
    return CommandKind.COMPARE, runs[0], runs[1] if len(runs) == 2 else None
