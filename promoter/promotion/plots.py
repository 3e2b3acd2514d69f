"""Small PNG curves of a run's scalars, with the champion beside them, for the PR body."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.core.models import ScalarSeries

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_SIZE_INCHES = (4.2, 2.6)
_DPI = 100
_CANDIDATE = "#0969da"
_CHAMPION = "#cf222e"


def draw_curves(
    series: Mapping[str, ScalarSeries],
    out_dir: Path,
    champion: Mapping[str, float] | None = None,
    champion_series: Mapping[str, ScalarSeries] | None = None,
) -> list[tuple[str, Path]]:
    """One PNG per scalar in ``out_dir``: the candidate by step and the champion; (title, path)."""
    # Imported here: matplotlib costs ~0.3 s, which commands that draw nothing should not pay.
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir.mkdir(parents=True, exist_ok=True)
    drawn: list[tuple[str, Path]] = []
    used: set[str] = set()
    for name, candidate in series.items():
        theirs = (champion_series or {}).get(name)
        final = (champion or {}).get(name)
        title = _title(name, candidate, theirs)
        path = out_dir / _file_name(name, used)
        # The default style, not the user's matplotlibrc: the same data gives the same bytes.
        with matplotlib.style.context("default"):
            fig = Figure(figsize=_SIZE_INCHES, dpi=_DPI, layout="constrained")
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            _plot(ax, candidate, "this run", _CANDIDATE, "-")
            if theirs is not None:
                _plot(ax, theirs, "champion", _CHAMPION, "--")
            elif final is not None and math.isfinite(final):
                ax.axhline(final, color=_CHAMPION, linestyle="--", linewidth=1.2, label="champion")
            ax.set_title(title, fontsize=10, parse_math=False)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=8)
            ax.grid(True, color="#d1d9e0", linewidth=0.5)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8, frameon=False)
            # Software and dates left out of the PNG: nothing but the data changes the bytes.
            fig.savefig(path, format="png", metadata={"Software": None})
        drawn.append((title, path))
    return drawn


def _plot(ax: Axes, series: ScalarSeries, label: str, color: str, style: str) -> None:
    points = sorted(
        (step, value)
        for step, value in zip(series.steps, series.values, strict=False)
        if math.isfinite(value)
    )
    if not points:
        return
    steps = [p[0] for p in points]
    values = [p[1] for p in points]
    marker = "o" if len(points) == 1 else None
    ax.plot(steps, values, color=color, linestyle=style, linewidth=1.5, marker=marker, label=label)


def _title(name: str, candidate: ScalarSeries, champion: ScalarSeries | None) -> str:
    shown = name if len(name) <= 60 else name[:59] + "…"
    values: Sequence[float] = candidate.values + (champion.values if champion else ())
    notes = []
    if any(math.isnan(v) for v in values):
        notes.append("NaN in series")
    if any(math.isinf(v) for v in values):
        notes.append("inf in series")
    if not candidate.values:
        notes.append("no values")
    return f"{shown} ({', '.join(notes)})" if notes else shown


def _file_name(name: str, used: set[str]) -> str:
    """A file name made of ``[A-Za-z0-9._-]`` only, unique among ``used``; never a path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:60] or "scalar"
    if safe != name or safe.lower() in used:
        # Names that had to change, or that collide, get a digest of the real name.
        safe = f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    used.add(safe.lower())
    return f"{safe}.png"
