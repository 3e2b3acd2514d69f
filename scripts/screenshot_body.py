"""See the PR body as a reviewer would: a sample record -> Markdown -> HTML -> headless screenshot.

    .venv/bin/python scripts/screenshot_body.py [--dirty] [--failed] [--open] [--out PNG]

Writes the body (.md), the page (.html) and the plots beside the screenshot (default
/tmp/pr_body.png). Without chromium (Debian: ``apt-get install -y chromium``) it stops after the
HTML with a message.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' sample record

from promoter.core.models import ScalarSeries
from promoter.forges.github import GitHubForge
from promoter.promotion.plots import draw_curves
from promoter.promotion.record import CriterionRow, PlotRow, PromotionRecord
from promoter.render.html import render_html
from promoter.render.markdown import render_body
from tests.records import RUN_ID, replace_run, sample_record

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def screenshot_record(plots: list[PlotRow], *, dirty: bool, failed: bool) -> PromotionRecord:
    """The tests' sample record with real plots, optionally dirty or failing a criterion."""
    record = sample_record(plots=plots)
    if dirty:
        record = replace_run(record, vcs_commit=f"{record.run.vcs_commit}*", dirty_source=True)
    if failed:
        bad = CriterionRow("latency_ms <= 40", False, {"latency_ms": 52.5}, champion_passed=False)
        record = msgspec.structs.replace(record, criteria=[record.criteria[0], bad])
    return record


def sample_plots(out_dir: Path) -> list[PlotRow]:
    """Curves of the sample run's objective and loss, drawn by promoter itself."""
    steps = tuple(range(0, 2000, 100))
    ours = {
        "val_acc": [0.6 + 0.33 * (1 - math.exp(-i / 5)) for i in range(20)],
        "loss": [0.9 * math.exp(-i / 6) + 0.18 for i in range(20)],
    }
    series = {k: ScalarSeries(k, "", steps, tuple(v)) for k, v in ours.items()}
    drawn = draw_curves(series, out_dir, champion={"val_acc": 0.925, "loss": 0.2011})
    return [PlotRow(title, str(path), "drawn") for title, path in drawn]


def main() -> int:
    """Write the sample body, its HTML page and, with chromium, the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirty", action="store_true", help="a run from a dirty source tree")
    parser.add_argument("--failed", action="store_true", help="a failing acceptance criterion")
    parser.add_argument("--open", action="store_true", help="show the <details> sections open")
    default_out = Path(tempfile.gettempdir()) / "pr_body.png"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    out: Path = args.out.resolve()
    files = out.with_name(out.stem + "_files")
    record = screenshot_record(sample_plots(files), dirty=args.dirty, failed=args.failed)
    marker = f"<!-- promoter:op=train run={RUN_ID} -->"
    # Relative to the page, as a local forge does: the body links no file: or absolute paths.
    body = render_body(
        record,
        image_url=lambda p: Path(p).relative_to(out.parent).as_posix(),
        record_url="record.yaml",
        marker=marker,
        max_chars=GitHubForge.body_limit,
    )
    page = render_html(body, record.pr.title)
    if args.open:
        page = page.replace("<details>", "<details open>")
    out.with_suffix(".md").write_text(body, encoding="utf-8")
    html_path = out.with_suffix(".html")
    html_path.write_text(page, encoding="utf-8")
    print(f"body: {out.with_suffix('.md')} ({len(body):,} characters)\npage: {html_path}")

    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print("no chromium found (apt-get install -y chromium): open the page in a browser")
        return 0
    height = 3600 if args.open else 1800
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--window-size=1000,{height}",
                f"--screenshot={out}",
                html_path.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"screenshot: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
