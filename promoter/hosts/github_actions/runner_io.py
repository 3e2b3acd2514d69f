"""The GitHub Action's edge: inputs parsed once, outputs, workflow commands and the step summary.

Everything here is a pure string function but ``append_file``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from promoter.core.runids import RULE, parse_run_id
from promoter.errors import UsageError
from promoter.forges.registry import FORGE_NAMES, ForgeName
from promoter.triggers.commands import open_fences

INPUT_NAMES: Final = ("config", "guild-home", "forge", "token", "dry-run", "run", "objective")
# YAML 1.2 core schema booleans, as @actions/core getBooleanInput accepts them.
TRUE_WORDS: Final = ("true", "True", "TRUE")
FALSE_WORDS: Final = ("false", "False", "FALSE")
SUMMARY_LIMIT: Final = 1_048_576
MAX_SHOWN_CHARS: Final = 60

BAD_BOOLEAN: Final = (
    "input {name}: {value} is not a boolean (true, True, TRUE, false, False or FALSE)"
)
BAD_FORGE: Final = "input forge: {value} is not one of github, gitlab, local"
BAD_RUN_ID: Final = "input {name}: {value} is not a run id (" + RULE + ")"
BAD_OUTPUT_NAME: Final = "output name {name!r} is not made of letters, digits, '_' and '-'"
BAD_STOP_MARKER: Final = "stop-commands token {token!r} is not made of letters, digits, '_', '-'"
SUMMARY_TRUNCATED: Final = (
    "\n\n> [!NOTE]\n> This summary was cut to fit GitHub's step summary size limit: "
    "the full text is in the pull request and the promotion record.\n"
)

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_DETAILS_OPEN = re.compile(r"<details[\s>]", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionInputs:
    """The action's inputs, validated; empty inputs are ``None`` (or the default)."""

    config: str | None = None
    guild_home: str | None = None
    forge: ForgeName = "github"
    token: str | None = field(default=None, repr=False)
    dry_run: bool = False
    run: str | None = None
    objective: str | None = None


def input_env_name(name: str) -> str:
    """The variable an input reaches a docker action as: ``guild-home`` -> ``INPUT_GUILD-HOME``."""
    return "INPUT_" + name.replace(" ", "_").upper()


def parse_bool(text: str, name: str) -> bool:
    """A YAML 1.2 core boolean (empty is false); anything else is a UsageError naming ``name``."""
    value = text.strip()
    if value in TRUE_WORDS:
        return True
    if not value or value in FALSE_WORDS:
        return False
    raise UsageError(BAD_BOOLEAN.format(name=name, value=_shown(value)))


def valid_run_id(text: str, name: str) -> str:
    """The lowercased run id (or unique prefix) in ``text``, else a UsageError naming ``name``."""
    run = parse_run_id(text.strip())
    if run is None:
        raise UsageError(BAD_RUN_ID.format(name=name, value=_shown(text)))
    return run


def parse_inputs(env: Mapping[str, str]) -> ActionInputs:
    """The action's inputs from ``INPUT_*`` (hyphens kept), the token falling back on
    ``GITHUB_TOKEN``."""

    def given(name: str) -> str | None:
        # The runner passes declared inputs even when empty; @actions/core trims them too.
        return env.get(input_env_name(name), "").strip() or None

    forge = (given("forge") or "github").lower()
    if forge not in FORGE_NAMES:
        raise UsageError(BAD_FORGE.format(value=_shown(given("forge") or "")))
    run = given("run")
    return ActionInputs(
        config=given("config"),
        guild_home=given("guild-home"),
        forge=forge,
        token=given("token") or env.get("GITHUB_TOKEN", "").strip() or None,
        dry_run=parse_bool(given("dry-run") or "", "dry-run"),
        run=valid_run_id(run, "run") if run else None,
        objective=given("objective"),
    )


def _shown(value: str) -> str:
    short = value if len(value) <= MAX_SHOWN_CHARS else value[: MAX_SHOWN_CHARS - 1] + "…"
    return repr(short)


def _new_delimiter() -> str:
    return f"ghadelimiter_{uuid.uuid4()}"


def format_outputs(
    outputs: Mapping[str, str], new_delimiter: Callable[[], str] = _new_delimiter
) -> str:
    """``outputs`` in the ``$GITHUB_OUTPUT`` format: ``name=value``, or a heredoc if multi-line."""
    lines: list[str] = []
    for name, value in outputs.items():
        if not _NAME.fullmatch(name):
            raise ValueError(BAD_OUTPUT_NAME.format(name=name))
        # The runner splits on "\n" only (and on "\r\n" on Windows): any CR or LF needs a heredoc.
        if "\n" not in value and "\r" not in value:
            lines.append(f"{name}={value}\n")
            continue
        delimiter = new_delimiter()
        while delimiter in value:
            delimiter = new_delimiter()
        lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(lines)


def append_file(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` to the file at ``path`` in UTF-8, newlines untranslated."""
    with Path(path).open("a", encoding="utf-8", newline="") as file:
        file.write(text)


def escape_data(text: str) -> str:
    """``text`` escaped as the message of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """``text`` escaped as a property value of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, data: str, properties: Mapping[str, str | int | None] | None = None) -> str:
    given = {key: value for key, value in (properties or {}).items() if value is not None}
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in given.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(data)}"


def group(title: str) -> str:
    """The workflow command that opens a collapsible log group."""
    return _command("group", title)


def endgroup() -> str:
    """The workflow command that closes the current log group."""
    return "::endgroup::"


def _annotation(
    kind: str, message: str, title: str | None, file: str | None, line: int | None
) -> str:
    return _command(kind, message, {"title": title, "file": file, "line": line})


def error(
    message: str, title: str | None = None, file: str | None = None, line: int | None = None
) -> str:
    """An error annotation."""
    return _annotation("error", message, title, file, line)


def warning(
    message: str, title: str | None = None, file: str | None = None, line: int | None = None
) -> str:
    """A warning annotation."""
    return _annotation("warning", message, title, file, line)


def mask(value: str) -> str:
    """``::add-mask::`` lines for ``value``, one per non-blank line ("" when nothing to mask)."""
    # The runner masks log lines one at a time, so a multi-line secret is masked line by line
    # (as recent runners also do themselves, trimmed; older ones and GHES do not).
    lines = (line.strip() for line in re.split(r"\r\n|\r|\n", value))
    return "\n".join(_command("add-mask", line) for line in lines if line)


def stop_commands(token: str) -> str:
    """The workflow command that stops command processing until ``resume_commands(token)``."""
    if not _NAME.fullmatch(token):
        raise ValueError(BAD_STOP_MARKER.format(token=token))
    return f"::stop-commands::{token}"


def resume_commands(token: str) -> str:
    """The line that resumes command processing after ``stop_commands(token)``."""
    if not _NAME.fullmatch(token):
        raise ValueError(BAD_STOP_MARKER.format(token=token))
    return f"::{token}::"


def summary_text(body: str, limit: int = SUMMARY_LIMIT) -> str:
    """The step summary: ``body`` if it fits in ``limit`` UTF-8 bytes, else its head, cut at a
    line boundary, with open code fences and ``<details>`` closed, and a note."""
    if len(body.encode()) <= limit:
        return body
    budget = limit - len(SUMMARY_TRUNCATED.encode())
    if budget <= 0:
        raise ValueError(f"a step summary limit of {limit} bytes leaves no room for the note")
    lines = [piece + "\n" for piece in body.split("\n")[:-1]]
    kept: list[str] = []
    used = 0
    details = 0
    before: str | None = None
    for line, after in zip(lines, open_fences(lines), strict=True):
        opened = details
        if before is None and after is None:
            opened += len(_DETAILS_OPEN.findall(line)) - len(_DETAILS_CLOSE.findall(line))
        size = len(line.encode())
        if used + size + len(_closing(after, opened).encode()) > budget:
            break
        kept.append(line)
        used += size
        before, details = after, opened
    if not kept:
        # Not even the first line fits: cut it, never inside a UTF-8 character.
        head = _utf8_head(body, budget - 1)
        fence = open_fences([head])[0]
        if fence:
            head = _utf8_head(body, budget - 2 - len(fence))
            fence = open_fences([head])[0]
        return head + "\n" + _closing(fence, 0) + SUMMARY_TRUNCATED
    return "".join(kept) + _closing(before, details) + SUMMARY_TRUNCATED


def _utf8_head(text: str, size: int) -> str:
    return text.encode()[: max(size, 0)].decode("utf-8", errors="ignore")


def _closing(fence: str | None, details: int) -> str:
    text = f"{fence}\n" if fence else ""
    return text + "</details>\n" * max(details, 0)
