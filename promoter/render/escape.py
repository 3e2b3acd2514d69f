"""Making untrusted values inert in GitHub's and GitLab's Markdown and in the HTML it becomes.

Inert means: shown as their literal text, never structure, never a reference or mention
(GitHub: ``@user``, ``#1``; GitLab also ``!1``, ``~label``, ``%milestone``, ``$1``, ``&1``,
``*iteration:1``, ``[vulnerability:1]``), and never a GitLab quick action (a line starting with
``/`` in a description or note is executed: ``/merge``, ``/approve``, ``/assign``).
"""

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
# Sigils of GitHub's and GitLab's references (and GitLab's inline diff, `{+ +}` `[- -]`): GitLab
# and GitHub find them in the rendered text, after Markdown, so a backslash does not stop them;
# a zero-width space between a sigil and what follows it does.
_SIGILS = frozenset("@#!~%$&*[{")
# A quick action is a line whose first character is "/"; the entity shows the same slash.
SLASH = "&#47;"
_QUICK_ACTION = re.compile(r"^([ \t]*)/", re.MULTILINE)


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
    first = len(text) - len(text.lstrip(" \t"))
    for i, ch in enumerate(text):
        if ch in _MD_PUNCT:
            out.append("\\" + ch)
        elif ch == "/" and mentions and i == first:
            out.append(SLASH)  # the first thing on a line a template may start with this value
        else:
            out.append(_ENTITIES.get(ch, ch))
        # Outside code: GitHub and GitLab link references in the rendered text (GitHub only
        # @user and #1), not inside code spans, so code keeps its exact text. A zero-width space
        # after the sigil breaks the reference (as Dependabot and Renovate do for mentions).
        after = text[i + 1 : i + 2]
        if mentions and ch in _SIGILS and (ch == "@" or (after and not after.isspace())):
            out.append(ZWSP)
    escaped = "".join(out)
    indent = escaped[: len(escaped) - len(escaped.lstrip(" \t"))]
    if "\t" in indent or len(indent) >= 4:
        # At the start of a line, a tab or four spaces would begin an indented code block.
        escaped = "".join(f"&#{ord(c)};" for c in indent) + escaped[len(indent) :]
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
    if "<!--" in text or _QUICK_ACTION.search(text):
        # No fake hidden marker in the raw body, and no line GitLab would run as a quick action
        # (it skips only some fences): an HTML block shows the same text, entities and all, and
        # ends only at its own "</pre>" (the value's is escaped).
        shown = _QUICK_ACTION.sub(lambda m: m.group(1) + SLASH, html.escape(text))
        return MdSafe(f"<pre><code>{shown}</code></pre>")
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
