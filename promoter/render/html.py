"""The PR body as a standalone HTML page, close to what GitHub shows (previews, job artifacts)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

_TASK = re.compile(r"\[([ xX])\] ")
_ALERT = re.compile(r"\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\n")


def render_html(markdown_text: str, title: str) -> str:
    """A whole HTML page (inline CSS, no external resources) showing ``markdown_text``."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    tokens = md.parse(markdown_text)
    _task_lists(tokens)
    _alerts(tokens)
    body = md.renderer.render(tokens, md.options, {})
    return _PAGE.format(title=html.escape(title), css=_CSS, body=body)


def _task_lists(tokens: Sequence[Token]) -> None:
    # GitHub's task list items: "[ ] " or "[x] " at the start of a list item's source text
    # (an escaped "\[ \]" is not one: checking the raw content keeps that difference).
    for i, tok in enumerate(tokens[2:], start=2):
        if tokens[i - 2].type != "list_item_open" or tok.type != "inline" or not tok.children:
            continue
        found = _TASK.match(tok.content)
        first = tok.children[0]
        if not found or first.type != "text" or not first.content.startswith(found.group()):
            continue
        first.content = first.content[len(found.group()) :]
        box = Token("html_inline", "", 0)
        checked = " checked" if found.group(1) in "xX" else ""
        box.content = f'<input type="checkbox" disabled{checked}> '
        tok.children.insert(0, box)
        tokens[i - 2].attrSet("class", "task-list-item")


def _alerts(tokens: Sequence[Token]) -> None:
    # GitHub's alerts: a block quote whose first line is exactly "[!WARNING]" (or NOTE, ...).
    for i, tok in enumerate(tokens[2:], start=2):
        if tokens[i - 2].type != "blockquote_open" or tok.type != "inline" or not tok.children:
            continue
        found = _ALERT.match(tok.content)
        children = tok.children
        if not found or len(children) < 2 or children[1].type != "softbreak":
            continue
        kind = found.group(1).lower()
        tokens[i - 2].attrSet("class", f"alert alert-{kind}")
        label = Token("html_inline", "", 0)
        label.content = f'<span class="alert-title">{kind.capitalize()}</span><br>'
        tok.children = [label, *children[2:]]


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; img-src * data: file:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<article class="markdown-body">
{body}</article>
</body>
</html>
"""

_CSS = """
body { margin: 0; background: #fff; color: #1f2328; }
.markdown-body { box-sizing: border-box; max-width: 980px; margin: 0 auto; padding: 32px 24px;
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial,
  sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"; word-wrap: break-word; }
.markdown-body h2 { font-size: 1.5em; font-weight: 600; margin: 0 0 16px; padding-bottom: .3em;
  border-bottom: 1px solid #d1d9e0; }
.markdown-body h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; }
.markdown-body p, .markdown-body ul, .markdown-body table, .markdown-body pre,
.markdown-body blockquote, .markdown-body details { margin: 0 0 16px; }
.markdown-body ul { padding-left: 2em; }
.markdown-body li + li { margin-top: .25em; }
.markdown-body li.task-list-item { list-style: none; }
.markdown-body li.task-list-item input { margin: 0 .35em .25em -1.4em; vertical-align: middle; }
.markdown-body code { font: 85%/1.4 ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas,
  "Liberation Mono", monospace; background: rgba(129,139,152,.12); border-radius: 6px;
  padding: .2em .4em; }
.markdown-body pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; }
.markdown-body pre code { background: none; padding: 0; font-size: 85%; }
.markdown-body table { border-collapse: collapse; display: block; width: max-content;
  max-width: 100%; overflow: auto; }
.markdown-body th, .markdown-body td { border: 1px solid #d1d9e0; padding: 6px 13px; }
.markdown-body th { font-weight: 600; background: #f6f8fa; }
.markdown-body tr:nth-child(2n) td { background: #f6f8fa; }
.markdown-body img { max-width: 100%; box-sizing: content-box; }
.markdown-body details { border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 16px; }
.markdown-body details[open] > summary { margin-bottom: 12px; }
.markdown-body summary { cursor: pointer; }
.markdown-body blockquote { margin-left: 0; padding: 0 1em; color: #59636e;
  border-left: .25em solid #d1d9e0; }
.markdown-body blockquote.alert { color: inherit; padding: 8px 16px; }
.markdown-body blockquote > :last-child { margin-bottom: 0; }
.markdown-body .alert-title { font-weight: 600; }
.markdown-body .alert-note { border-left-color: #0969da; }
.markdown-body .alert-note .alert-title { color: #0969da; }
.markdown-body .alert-tip { border-left-color: #1a7f37; }
.markdown-body .alert-tip .alert-title { color: #1a7f37; }
.markdown-body .alert-important { border-left-color: #8250df; }
.markdown-body .alert-important .alert-title { color: #8250df; }
.markdown-body .alert-warning { border-left-color: #9a6700; }
.markdown-body .alert-warning .alert-title { color: #9a6700; }
.markdown-body .alert-caution { border-left-color: #d1242f; }
.markdown-body .alert-caution .alert-title { color: #d1242f; }
"""
