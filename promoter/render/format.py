"""Numbers, sizes, hashes and flag values as short text for the PR body."""

from __future__ import annotations

import json
import math
from datetime import datetime

from promoter.render.escape import MdSafe, md_escape

MISSING = "—"


JsonNumber = float | str | None


def json_number(value: float | None) -> JsonNumber:
    """A float for JSON: non-finite values as the strings protobuf's JSON mapping uses."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def fmt_number(value: object) -> MdSafe:
    """A number with 6 significant digits; ``NaN``/``inf`` spelled out, ``—`` when missing."""
    if value is None or isinstance(value, bool):
        return MdSafe(MISSING if value is None else str(value).lower())
    if isinstance(value, int):
        return MdSafe(str(value))
    if not isinstance(value, float):
        return MdSafe(md_escape(value))
    if math.isnan(value):
        return MdSafe("NaN")
    if math.isinf(value):
        return MdSafe("inf" if value > 0 else "-inf")
    return MdSafe(f"{value:.6g}")


def fmt_delta(value: object) -> MdSafe:
    """A difference with its sign (``+0.0062``, ``-3``); ``—`` when missing."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isnan(value):
            return MdSafe("NaN")
        return MdSafe(f"{value:+.6g}")
    return fmt_number(value)


def short(value: object, length: int = 12) -> str:
    """The first ``length`` characters of a hash or id (text, escaped on output); ``—`` if none."""
    if value is None or value == "":
        return MISSING
    return str(value)[:length]


_UNITS = ("KiB", "MiB", "GiB", "TiB")


def fmt_size(value: object) -> MdSafe:
    """Bytes as ``512 B``, ``1.5 KiB``, ``12.3 MiB``, ``1.02 GiB``; ``—`` when missing."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return MdSafe(MISSING)
    if abs(value) < 1024:
        return MdSafe(f"{int(value)} B")
    size = float(value)
    power = 0
    while abs(size) >= 1024 and power < len(_UNITS):
        size /= 1024
        power += 1
    unit = _UNITS[power - 1]
    return MdSafe(f"{size:.3g} {unit}" if abs(size) < 100 else f"{size:.0f} {unit}")


def fmt_value(value: object) -> str:
    """A flag value as text: strings as they are, everything else as JSON (``true``, ``[1, 2]``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(fmt_number(value))
    return json.dumps(value, ensure_ascii=False, default=str)


def fmt_time(value: object) -> MdSafe:
    """An ISO timestamp as ``2024-05-01 12:00:00 UTC`` (other offsets kept); ``—`` when missing."""
    if not value:
        return MdSafe(MISSING)
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return MdSafe(md_escape(value))
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    offset = when.utcoffset()
    if offset is None:
        return MdSafe(text)
    zone = "UTC" if not offset else when.strftime("UTC%z")
    return MdSafe(f"{text} {zone}")
