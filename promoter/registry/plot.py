"""The objective over time: one panel per track, a step at each new champion (PNG)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import datetime

from promoter.registry.champions import TrackHistory

_WIDTH_INCHES = 6.4
_PANEL_INCHES = 2.6
_DPI = 100
_LINE = "#0969da"


def draw_history(tracks: Sequence[TrackHistory]) -> bytes | None:
    """A PNG of each track's champion objective by merge date; ``None`` when no track has
    a champion with a value."""
    shown = [t for t in tracks if any(_finite(e.value) for e in t.entries)]
    if not shown:
        return None
    # Imported here: matplotlib costs ~0.3 s, which commands that draw nothing should not pay.
    import matplotlib.dates
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.style.context("default"):
        size = (_WIDTH_INCHES, _PANEL_INCHES * len(shown))
        fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(shown), 1, squeeze=False)
        for ax, track in zip((row[0] for row in axes), shown, strict=True):
            points = [
                (datetime.fromisoformat(e.date), e.value, e.version or e.run_id[:8])
                for e in track.entries
                if e.value is not None and _finite(e.value)
            ]
            when = [p[0] for p in points]
            values = [p[1] for p in points]
            ax.step(when, values, where="post", color=_LINE, linewidth=1.5)
            ax.plot(when, values, "o", color=_LINE)
            for x, y, label in points:
                ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 6), fontsize=7)
            name, direction = track.objective
            goal = f" ({direction})" if direction else ""
            ax.set_title(f"{track.name}: {name or 'objective'}{goal} of each champion", fontsize=10)
            # matplotlib.dates ships no annotations for its formatters.
            dates = matplotlib.dates.DateFormatter("%Y-%m-%d")  # type: ignore[no-untyped-call]
            ax.xaxis.set_major_formatter(dates)
            ax.tick_params(labelsize=8)
            ax.tick_params(axis="x", labelrotation=20)
            ax.margins(x=0.08, y=0.2)  # room for the last point's label
            ax.grid(True, color="#d1d9e0", linewidth=0.5)
        out = io.BytesIO()
        # Software and dates left out of the PNG: nothing but the data changes the bytes.
        fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
