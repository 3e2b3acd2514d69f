"""Run ids, by one rule for every place that reads one: the CLI, CI inputs, slash commands,
the champion file and the hidden PR marker.

A user names a run by its id or a unique prefix of it: 4 to 32 hexadecimal characters, case
ignored (Guild and MLflow ids are 32 lowercase hexadecimal characters). Anything else is not
a run id, so no text from a comment, an input or a file reaches a path, a ref or a shell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from promoter.errors import UsageError

MIN_CHARS: Final = 4
MAX_CHARS: Final = 32
FULL_RUN_ID: Final = r"[0-9a-f]{32}"
"""A whole run id as promoter writes it (markers, champion.yaml), for patterns."""

RULE: Final = f"{MIN_CHARS} to {MAX_CHARS} hexadecimal characters"
NOT_A_RUN_ID: Final = "{shown} is not a run id (" + RULE + ")"
NO_SUCH_RUN: Final = "no run {shown} in {where}"
AMBIGUOUS: Final = "run {shown} is ambiguous: it matches {matches}"

_PREFIX = re.compile(f"[0-9A-Fa-f]{{{MIN_CHARS},{MAX_CHARS}}}")


def parse_run_id(text: str) -> str | None:
    """The lowercased run id (or unique prefix) in ``text``, or ``None`` when it is not one."""
    return text.lower() if _PREFIX.fullmatch(text) else None


def resolve_run_id(run_ids: Iterable[str], text: str, where: str) -> str:
    """The one full id among ``run_ids`` that ``text`` names; UsageError otherwise."""
    wanted = parse_run_id(text.strip())
    if wanted is None:
        raise UsageError(NOT_A_RUN_ID.format(shown=repr(text)))
    matches = [run_id for run_id in run_ids if run_id.startswith(wanted)]
    if not matches:
        raise UsageError(NO_SUCH_RUN.format(shown=repr(text), where=where))
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches[:5])
        raise UsageError(AMBIGUOUS.format(shown=repr(text), matches=shown))
    return matches[0]
