"""Multi-line text from a run (a model card) as inert Markdown: its lines and paragraphs kept,
every line escaped as any other value (``md_escape``)."""

from __future__ import annotations

import re
from typing import Final

from promoter.render.escape import MdSafe, code_span, md_escape, safe_url

_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
CUT: Final = "…"


def text_block(value: object, limit: int | None = None) -> MdSafe:
    """``value`` as paragraphs of escaped lines (``<br>`` between lines, a blank line between
    paragraphs); at most ``limit`` characters of it, cut at a line's end (``…`` marks a cut)."""
    text = re.sub(r"\r\n?", "\n", "" if value is None else str(value))
    cut = False
    if limit is not None and len(text) > limit:
        head = text[:limit]
        text = head[: head.rfind("\n")] if "\n" in head else head
        cut = True
    paragraphs = []
    for paragraph in _PARAGRAPHS.split(text):
        lines = [_line(line) for line in paragraph.split("\n") if line.strip()]
        if lines:
            paragraphs.append("<br>\n".join(lines))
    if cut:
        paragraphs.append(CUT)
    return MdSafe("\n\n".join(paragraphs))


def _line(text: str) -> str:
    escaped = md_escape(text.rstrip())
    # A line of a description that starts with "/" is a GitLab quick action (/merge): "\/"
    # shows the same "/" in CommonMark and is no command.
    start = len(escaped) - len(escaped.lstrip(" "))
    if escaped[start:].startswith("/"):
        return escaped[:start] + "\\" + escaped[start:]
    return escaped


def code_link(value: object, url: str | None) -> MdSafe:
    """``value`` as a code span that links to ``url`` (http(s) or relative), else the span."""
    span = code_span(value)
    target = safe_url(url) if url else None
    return MdSafe(f"[{span}]({target})" if target and value else span)
