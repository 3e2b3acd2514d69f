"""A fast path for the YAML that Guild writes most: one plain scalar, or a flat mapping of them.

PyYAML builds every document in Python, which dominates the cost of listing thousands of runs.
This module resolves the common plain forms exactly as PyYAML's safe loader would (YAML 1.1
rules) and answers ``NOT_SIMPLE`` for anything else, so the caller falls back to PyYAML.
The tests check it against ``yaml.safe_load`` on generated documents.
"""

from __future__ import annotations

import re
from typing import Final

from promoter.core.models import FlagValue


class NotSimple:
    """The type of ``NOT_SIMPLE``: the text needs a real YAML parser."""

    def __repr__(self) -> str:
        return "NOT_SIMPLE"


NOT_SIMPLE: Final = NotSimple()

_BOOLS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?\Z")
_WORD = re.compile(r"[A-Za-z_][\w./-]*\Z")
_KEY_LINE = re.compile(r"([A-Za-z_][\w.-]*):(?: (.*))?\Z")


def plain_scalar(text: str) -> FlagValue | NotSimple:
    """The value of a plain (unquoted, one-line) YAML scalar, or ``NOT_SIMPLE``."""
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if _WORD.match(text):
        return text
    return NOT_SIMPLE


def flat_mapping(text: str) -> dict[str, FlagValue] | NotSimple:
    """A mapping of plain keys to plain scalars, one per line, or ``NOT_SIMPLE``."""
    result: dict[str, FlagValue] = {}
    for line in text.splitlines():
        match = _KEY_LINE.match(line)
        if match is None:
            return NOT_SIMPLE
        key, raw = match.group(1), match.group(2) or ""
        if key in _BOOLS or key in _NULLS or key in result:
            return NOT_SIMPLE
        value = plain_scalar(raw)
        if isinstance(value, NotSimple):
            return NOT_SIMPLE
        result[key] = value
    return result
