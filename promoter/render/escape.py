"""Making untrusted values inert in GitHub Markdown and in the HTML it becomes."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit


class MdSafe(str):
    """A Markdown fragment built by our own filters, trusted as is.

    A plain ``str`` subclass rather than ``markupsafe.Markup``: Jinja's own filters (``tojson``,
    ``safe``, ``forceescape``) make ``Markup`` that is HTML-safe but not Markdown-safe, and
    ``Markup`` keeps its trust through slicing (``truncate`` could cut a code span open). Any
    operation on an ``MdSafe`` returns a plain ``str``, which is escaped again.
    """

    __slots__ = ()


# Backslash-escaped: every ASCII punctuation that can start Markdown syntax (emphasis, links,
# images, headings, lists, setext underlines, code, strikethrough, GitHub math).
_MD_PUNCT = frozenset("`*_{}[]()#+-.!~=$")
# Entities rather than backslashes: `&<>"'` for HTML, and `\` and `|` because GitHub and
# markdown-it disagree on whether `\\|` ends a table cell; an entity is never structure.
_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "\\": "&#92;",
    "|": "&#124;",
}
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Bidi controls reorder what a reviewer sees ("Trojan Source"): show them instead.
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ZWSP = "&#8203;"


def _visible(text: str) -> str:
    text = _CONTROLS.sub("\ufffd", text)
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def one_line(value: object) -> str:
    """``str(value)`` on one line, with invisible controls made visible."""
    return _visible(_LINE_BREAKS.sub(" ", "" if value is None else str(value)))


def md_escape(value: object) -> str:
    """``value`` as Markdown that renders as its literal text and nothing else."""
    if isinstance(value, MdSafe):
        return str(value)
    return _escape_text(one_line(value), mentions=True)


def _escape_text(text: str, *, mentions: bool) -> str:
    out = []
    for ch in text:
        if ch in _MD_PUNCT:
            out.append("\\" + ch)
        else:
            out.append(_ENTITIES.get(ch, ch))
    escaped = "".join(out)
    indent = escaped[: len(escaped) - len(escaped.lstrip(" \t"))]
    if "\t" in indent or len(indent) >= 4:
        # At the start of a line, a tab or four spaces would begin an indented code block.
        escaped = "".join(f"&#{ord(c)};" for c in indent) + escaped[len(indent) :]
    if mentions:
        # GitHub links @user, @org/team and #123 in the rendered HTML text, after Markdown, so
        # backslashes do not stop it; a zero-width space after the sigil does (as Dependabot and
        # Renovate do). GitHub never links them inside code, so code spans keep the text exact.
        escaped = escaped.replace("@", "@" + ZWSP)
        escaped = re.sub(r"\\#(?=\d)", "\\#" + ZWSP, escaped)
    return escaped


def code_span(value: object) -> MdSafe:
    """``value`` as an inline code span showing its exact text, safe in a table cell."""
    if value is None:
        return MdSafe("—")
    text = one_line(value)
    if not text:
        return MdSafe("")
    if "|" in text or "<!--" in text:
        # A pipe ends a table cell even inside backticks, and its escape `\|` shows a stray
        # backslash outside tables; "<!--" would leave a fake hidden marker in the raw body.
        # An HTML code element with entities is exact in both, and inert.
        return MdSafe(f"<code>{_escape_text(text, mentions=False)}</code>")
    fence = "`" * (_longest_run(text, "`") + 1)
    # CommonMark strips one space from each end of a span, so pad when an end is a backtick or
    # a space (a span of spaces only is kept whole).
    pad = " " if (text[0] in "` " or text[-1] in "` ") and text.strip(" ") else ""
    return MdSafe(f"{fence}{pad}{text}{pad}{fence}")


def code_block(value: object, info: str = "") -> MdSafe:
    """``value`` as a fenced code block (lines kept), for commands worth copying."""
    text = _visible(re.sub(r"\r\n?", "\n", "" if value is None else str(value)))
    if "<!--" in text:
        # No fake hidden marker in the raw body: an HTML block shows the same text, entities
        # and all, and ends only at its own "</pre>" (the value's is escaped).
        return MdSafe(f"<pre><code>{html.escape(text)}</code></pre>")
    fence = "`" * max(3, _longest_run(text, "`") + 1)
    lang = re.sub(r"[^A-Za-z0-9_+-]", "", info)
    return MdSafe(f"{fence}{lang}\n{text}\n{fence}")


def _longest_run(text: str, ch: str) -> int:
    runs = re.findall(f"{re.escape(ch)}+", text)
    return max((len(r) for r in runs), default=0)


def safe_url(url: str) -> str | None:
    """``url`` percent-encoded for a Markdown link destination; ``None`` unless http(s) or a
    relative path."""
    text = url.strip()
    scheme = urlsplit(text).scheme.lower()
    if scheme not in ("", "http", "https"):
        return None
    # Parens, brackets, spaces, quotes, `<>`, backslash and `;` (no entity can form) are encoded.
    encoded = quote(text, safe="/:?#&=%~+,@!$*-._")
    if not scheme and ":" in encoded.split("/", 1)[0]:
        encoded = "./" + encoded
    return encoded


def link(text: object, url: str | None, *, relative: bool = False) -> MdSafe:
    """A Markdown link to an http(s) URL (or a relative one if allowed), else the escaped text."""
    target = safe_url(url) if url else None
    if target and not relative and urlsplit(target).scheme not in ("http", "https"):
        target = None
    label = md_escape(text)
    return MdSafe(f"[{label}]({target})" if target else label)


def image(alt: object, url: str) -> MdSafe:
    """A Markdown image, or its escaped alt text when ``url`` is not http(s) or relative."""
    target = safe_url(url)
    label = md_escape(alt)
    return MdSafe(f"![{label}]({target})" if target else label)
