"""What a GitLab CI job reads back from promoter: a dotenv report and the job log.

All pure string functions but :func:`write_dotenv`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

# GitLab's dotenv report: ASCII letters, digits and "_" in names; one line per value, quotes
# kept as they are, no multi-line values, at most 5 KB for the whole file.
DOTENV_LIMIT: Final = 5 * 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECTION = re.compile(r"[A-Za-z0-9_.-]+")
# ESC starts the escape sequences GitLab's log renders (and its section markers), CR returns
# the cursor over a line: untrusted text shows them as visible characters instead.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def log_safe(text: str) -> str:
    """``text`` with terminal controls shown, not obeyed (newlines and tabs kept)."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    """``text`` on one line, controls shown."""
    return log_safe(re.sub(r"\r\n|[\r\n]", " ", text))


def format_dotenv(values: Mapping[str, str]) -> str:
    """``NAME=value`` lines as GitLab's dotenv report takes them; ValueError for a name it
    refuses or a file over its size limit. Line breaks in values become spaces."""
    lines = []
    for name, value in values.items():
        if not _NAME.fullmatch(name):
            raise ValueError(f"dotenv name {name!r} is not letters, digits and '_'")
        flat = re.sub(r"[\r\n]+", " ", value).strip()
        lines.append(f"{name}={flat}\n")
    text = "".join(lines)
    if len(text.encode()) > DOTENV_LIMIT:
        raise ValueError(f"the dotenv report is over GitLab's {DOTENV_LIMIT} bytes")
    return text


def write_dotenv(path: str | os.PathLike[str], values: Mapping[str, str]) -> None:
    """The dotenv report at ``path``, replaced whole (one job, one report)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(format_dotenv(values), encoding="utf-8", newline="\n")


def section_start(name: str, header: str, now: int, *, collapsed: bool = False) -> str:
    """The line that opens a collapsible section of the job log."""
    if not _SECTION.fullmatch(name):
        raise ValueError(f"section name {name!r} is not letters, digits, '_', '.', '-'")
    options = "[collapsed=true]" if collapsed else ""
    return f"\x1b[0Ksection_start:{now}:{name}{options}\r\x1b[0K{one_line(header)}"


def section_end(name: str, now: int) -> str:
    """The line that closes section ``name``."""
    if not _SECTION.fullmatch(name):
        raise ValueError(f"section name {name!r} is not letters, digits, '_', '.', '-'")
    return f"\x1b[0Ksection_end:{now}:{name}\r\x1b[0K"


def section(name: str, header: str, body: str, now: int, *, collapsed: bool = True) -> str:
    """``body`` (untrusted: controls shown) in a collapsible section, newline-terminated."""
    text = log_safe(body)
    if text and not text.endswith("\n"):
        text += "\n"
    start = section_start(name, header, now, collapsed=collapsed)
    return f"{start}\n{text}{section_end(name, now)}\n"
