"""Slash commands: what is ours, what each line means, and never an exception on comment text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.errors import UsageError
from promoter.triggers.commands import (
    BAD_PREFIX,
    COMPARE_ARGUMENTS,
    COMPARE_SAME_RUN,
    EXTRA_AFTER_RUN,
    HELP_ARGUMENTS,
    MAX_TEXT_CHARS,
    MAX_TOKEN_CHARS,
    NOT_A_COMMAND,
    NOT_A_RUN_ID,
    UNKNOWN_OPTION,
    Command,
    CommandKind,
    help_text,
    open_fences,
    parse_command,
    parse_run_id,
    quote_token,
)

RUN = "3f2a9c1b" + "0" * 24
HEX_RUN = re.compile(r"[0-9a-f]{4,32}\Z")


def message(template: str, token: str = "", count: int = 0) -> str:
    return template.format(token=quote_token(token), count=count)


@pytest.mark.parametrize(
    ("body", "kind", "run", "other", "dry_run"),
    [
        ("/promote", CommandKind.PROMOTE, None, None, False),
        ("/promote 3f2a9c1b", CommandKind.PROMOTE, "3f2a9c1b", None, False),
        (f"/promote {RUN}", CommandKind.PROMOTE, RUN, None, False),
        ("/promote 3F2A9C1B", CommandKind.PROMOTE, "3f2a9c1b", None, False),
        ("/promote --dry-run", CommandKind.PROMOTE, None, None, True),
        ("/promote 3f2a --dry-run", CommandKind.PROMOTE, "3f2a", None, True),
        ("/promote --dry-run 3f2a", CommandKind.PROMOTE, "3f2a", None, True),
        ("/promote --dry-run --dry-run", CommandKind.PROMOTE, None, None, True),
        ("/promote \u2014dry-run", CommandKind.PROMOTE, None, None, True),
        ("/promote \u2013dry-run", CommandKind.PROMOTE, None, None, True),
        ("/promote compare abcd", CommandKind.COMPARE, "abcd", None, False),
        ("/promote compare abcd EF01", CommandKind.COMPARE, "abcd", "ef01", False),
        ("/promote compare --dry-run abcd", CommandKind.COMPARE, "abcd", None, True),
        ("/promote help", CommandKind.HELP, None, None, False),
        ("   /promote\thelp  ", CommandKind.HELP, None, None, False),
        ("/promote\u00a0abcd", CommandKind.PROMOTE, "abcd", None, False),
        ("/promote add", CommandKind.INVALID, None, None, False),
        ("/promote deadbeef", CommandKind.PROMOTE, "deadbeef", None, False),
    ],
)
def test_commands(
    body: str, kind: CommandKind, run: str | None, other: str | None, dry_run: bool
) -> None:
    command = parse_command(body)
    assert command is not None
    assert (command.kind, command.run, command.other, command.dry_run) == (
        kind,
        run,
        other,
        dry_run,
    )
    assert (command.error is None) is (kind is not CommandKind.INVALID)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "LGTM",
        "/promoter",
        "/promote-x",
        "/promote,",
        "/Promote",
        "please /promote this",
        "`/promote`",
        "> /promote",
        "  >  /promote 3f2a9c1b",
        ">> /promote",
        "```\n/promote\n```",
        "~~~\n/promote\n~~~",
        "````md\n```\n/promote\n```\n````",
        "  ```bash\n  /promote\n  ```",
        "- ```\n  /promote\n  ```",
        "```\n/promote",  # an unclosed fence runs to the end
        "text\u2028/promote",  # U+2028 is no line break in Markdown
    ],
)
def test_not_ours(body: str) -> None:
    assert parse_command(body) is None


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("LGTM\r\n\r\n/promote 3f2a9c1b --dry-run\r\n", "/promote 3f2a9c1b --dry-run"),
        ("LGTM\r/promote help", "/promote help"),
        ("```/promote```\n/promote", "/promote"),  # inline code, not a fence
        ("```\n/promote abcd\n```\n\n/promote help", "/promote help"),
        ("> /promote abcd\n\n/promote help", "/promote help"),
        ("> ```\n/promote help", "/promote help"),  # a quoted fence closes with its quote
        ("/promote help\n/promote abcd", "/promote help"),  # the first line wins
        ("/promote nope\n/promote help", "/promote nope"),  # even when invalid
        ("    /promote help", "/promote help"),
    ],
)
def test_the_first_line_outside_code_and_quotes(body: str, text: str) -> None:
    command = parse_command(body)
    assert command is not None
    assert command.text == text


def test_custom_prefix() -> None:
    assert parse_command("/promote", prefix="/ship") is None
    command = parse_command("/ship abcd", prefix="/ship")
    assert command == Command(kind=CommandKind.PROMOTE, text="/ship abcd", run="abcd")
    assert parse_command("/ship-it", prefix="/ship") is None


@pytest.mark.parametrize("prefix", ["", "/pro mote", " /promote", "/promote\n", ">promote"])
def test_bad_prefix(prefix: str) -> None:
    with pytest.raises(UsageError, match=re.escape(BAD_PREFIX.format(prefix=prefix))):
        parse_command("/promote", prefix=prefix)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("/promote $(rm -rf /)", message(NOT_A_COMMAND, "$(rm")),
        ("/promote ../x", message(NOT_A_COMMAND, "../x")),
        ("/promote main;ls", message(NOT_A_COMMAND, "main;ls")),
        ("/promote abc", message(NOT_A_COMMAND, "abc")),  # too short for a run id
        ("/promote " + "a" * 33, message(NOT_A_COMMAND, "a" * 33)),
        ("/promote \uff13f2a", message(NOT_A_COMMAND, "\uff13f2a")),  # fullwidth digit
        ("/promote Help", message(NOT_A_COMMAND, "Help")),
        ("/promote deploy", message(NOT_A_COMMAND, "deploy")),
        ("/promote --force", message(UNKNOWN_OPTION, "--force")),
        ("/promote -n", message(UNKNOWN_OPTION, "-n")),
        ("/promote --dry-run=true", message(UNKNOWN_OPTION, "--dry-run=true")),
        ("/promote --x nonsense", message(UNKNOWN_OPTION, "--x")),
        ("/promote nonsense --x", message(NOT_A_COMMAND, "nonsense")),
        ("/promote abcd ef01", message(EXTRA_AFTER_RUN, "ef01")),
        ("/promote abcd; rm -rf /", message(NOT_A_COMMAND, "abcd;")),
        ("/promote help me", message(HELP_ARGUMENTS, "me")),
        ("/promote compare", message(COMPARE_ARGUMENTS, count=0)),
        ("/promote compare abcd ef01 0123", message(COMPARE_ARGUMENTS, count=3)),
        ("/promote compare abcd ../etc", message(NOT_A_RUN_ID, "../etc")),
        ("/promote compare abcd ABCD", message(COMPARE_SAME_RUN, "ABCD")),
    ],
)
def test_invalid_commands_are_data_not_exceptions(body: str, error: str) -> None:
    command = parse_command(body)
    assert command == Command(kind=CommandKind.INVALID, text=body, error=error)


def test_errors_quote_the_token_inert_and_short() -> None:
    token = "`<img/src=x/onerror=alert(1)>@here#1\u202e" + "x" * 100
    command = parse_command(f"/promote {token}")
    assert command is not None and command.error is not None
    assert "\n" not in command.error
    assert "\u202e" not in command.error  # bidi override shown, not applied
    assert "<U+202E>" in command.error
    assert "x" * MAX_TOKEN_CHARS not in command.error
    assert "…" in command.error
    assert command.error.startswith("``")  # a code span longer than the token's backtick


def test_quote_token() -> None:
    assert quote_token("abc") == "`abc`"
    assert quote_token("a`b") == "``a`b``"
    assert quote_token("a|b") == "<code>a&#124;b</code>"
    assert len(quote_token("y" * 500)) < MAX_TOKEN_CHARS + 10


def test_text_is_the_line_as_written_and_short() -> None:
    long = "/promote " + " ".join(["--dry-run"] * 60)
    command = parse_command("hi\n" + long + "  \n")
    assert command is not None
    assert command.kind is CommandKind.PROMOTE and command.dry_run
    assert len(command.text) == MAX_TEXT_CHARS
    assert command.text.endswith("…")
    assert long.startswith(command.text[:-1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abcd", "abcd"),
        ("ABCDEF0123456789", "abcdef0123456789"),
        (RUN, RUN),
        ("abc", None),
        ("a" * 33, None),
        ("abcg", None),
        ("", None),
        ("abcd\n", None),
        (" abcd", None),
        ("\u0661\u0662\u0663\u0664", None),  # Arabic-Indic digits are digits, not hex
        ("\uff21\uff22\uff23\uff24", None),  # fullwidth A-D
    ],
)
def test_parse_run_id(text: str, expected: str | None) -> None:
    assert parse_run_id(text) == expected


@pytest.mark.parametrize(
    ("lines", "states"),
    [
        (["a", "```py", "x", "```", "b"], [None, "```", "```", None, None]),
        (["~~~~", "~~~", "~~~~~"], ["~~~~", "~~~~", None]),
        (["```", "~~~", "```"], ["```", "```", None]),
        (["``` x ```"], [None]),
        (["~~~ a`b", "~~~"], ["~~~", None]),
        (["> ```", "b"], [None, None]),
        (["1. ```", "   x", "   ```"], ["```", "```", None]),
        (["```", "``` no"], ["```", "```"]),  # a closing fence has nothing after it
    ],
)
def test_open_fences(lines: list[str], states: list[str | None]) -> None:
    assert open_fences(lines) == states


def test_help_lists_every_command_and_is_no_command() -> None:
    text = help_text("/promote", "write")
    for usage in ["`/promote`", "`/promote <run-id>`", "`/promote --dry-run`", "`/promote help`"]:
        assert usage in text
    assert "`/promote compare <run-a> [<run-b>]`" in text
    assert "`write`" in text
    # A bot posting with a user's token must not trigger itself with its own help.
    assert parse_command(text) is None
    assert "write" not in help_text("/promote")


def test_help_with_custom_prefix() -> None:
    text = help_text("/ship")
    assert "`/ship compare <run-a> [<run-b>]`" in text
    assert "/promote" not in text
    assert parse_command(text, "/ship") is None


@given(st.text(), st.sampled_from(["/promote", "/ship", "!p"]))
def test_never_raises_and_runs_are_lowercase_hex(body: str, prefix: str) -> None:
    command = parse_command(body, prefix)
    if command is None:
        return
    for run in (command.run, command.other):
        assert run is None or HEX_RUN.match(run)
    assert len(command.text) <= MAX_TEXT_CHARS
    assert "\n" not in command.text and "\r" not in command.text
    assert command.text.startswith(prefix)
    if command.kind is CommandKind.INVALID:
        assert command.error and "\n" not in command.error and "\r" not in command.error
        assert command.run is None and command.other is None
    else:
        assert command.error is None


_ARGS = st.lists(
    st.one_of(
        st.sampled_from(["--dry-run", "help", "compare", "-x", "abcd", "ABCDEF12", "../x"]),
        st.text(min_size=1, max_size=12).filter(lambda t: t.split() == [t]),
    ),
    max_size=5,
)


@given(_ARGS, st.sampled_from(["", "text\n", "> quoted\n", "```\ncode\n```\n"]))
def test_command_lines_after_any_text(args: list[str], before: str) -> None:
    command = parse_command(before + " ".join(["/promote", *args]))
    assert command is not None
    words = [a for a in args if a != "--dry-run"]
    if command.kind is CommandKind.PROMOTE:
        assert len(words) <= 1
        assert command.run == (words[0].lower() if words else None)
        assert command.dry_run is ("--dry-run" in args)
    if command.kind is CommandKind.HELP:
        assert words == ["help"]
    if command.kind is CommandKind.COMPARE:
        assert words[0] == "compare" and 2 <= len(words) <= 3
