"""See the PR body as a reviewer would: a sample record -> Markdown -> HTML -> headless screenshot.

    .venv/bin/python scripts/screenshot_body.py [--no-champion] [--dirty] [--failed] [--open]
                                                [--whole] [--out PNG]
    .venv/bin/python scripts/screenshot_body.py --docs     # the screenshots committed in docs/

Writes the body (.md), the page (.html) and the plots beside the screenshot (default
/tmp/pr_body.png): the first screen (1000x900), or with ``--whole`` the whole page. The page is
the body rendered the way GitHub renders Markdown (CommonMark, tables, task lists, alerts,
GitHub's styles: ``promoter.render.html``). Without chromium (Debian: ``apt-get install -y
chromium fonts-noto-color-emoji``) it stops after the HTML with a message.
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
from promoter.promotion.record import (
    CriterionRow,
    FlagRow,
    ModelCard,
    ObjectiveInfo,
    PlotRow,
    PromotionRecord,
)
from promoter.render.html import render_html
from promoter.render.markdown import render_body
from tests.records import RUN_ID, replace_run, sample_record

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FIRST_SCREEN = (1000, 900)
WHOLE_PAGE_HEIGHT = 9000
DOCS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
REPOSITORY = "https://github.com/acme/ml"
MODEL_CARD = """\
# Churn model

Predicts whether a customer cancels within 30 days, from 14 account features.

## Intended use
Ranking accounts for the retention team's weekly calls. Not for pricing or credit decisions.

## Training data
Accounts active between 2023-01 and 2024-03 (data/train.csv, 48,112 rows); 2024-04 held out.

## Limitations
- Accounts younger than 30 days are under-represented (3% of rows).
- Calibrated on the 2023 price list: re-check after a price change.

Contact: @ml-team (#ml-churn)
"""


def screenshot_record(
    plots: list[PlotRow], *, champion: bool, dirty: bool, failed: bool
) -> PromotionRecord:
    """The tests' sample record with real plots, a model card and a CI job, optionally
    without a champion, dirty or failing a criterion."""
    record = sample_record(
        plots=plots,
        model_card=ModelCard(
            path="MODEL_CARD.md", text=MODEL_CARD, sha256="5e" * 32, size=len(MODEL_CARD)
        ),
    )
    record = replace_run(record, ci_job_url=f"{REPOSITORY}/actions/runs/41")
    if not champion:
        record = msgspec.structs.replace(
            record,
            champion=None,
            summary="run 3f2a9c1b has val_acc 0.9312; no champion yet",
            objective=ObjectiveInfo(name="val_acc", direction="max", value=0.9312),
            scalars=[msgspec.structs.replace(s, champion=None, delta=None) for s in record.scalars],
            flags=[FlagRow(f.name, f.value) for f in record.flags],
            criteria=[msgspec.structs.replace(c, champion_passed=None) for c in record.criteria],
        )
    if dirty:
        record = replace_run(record, vcs_commit=f"{record.run.vcs_commit}*", dirty_source=True)
    if failed:
        bad = CriterionRow("latency_ms <= 40", False, {"latency_ms": 52.5}, champion_passed=False)
        record = msgspec.structs.replace(record, criteria=[record.criteria[0], bad])
    return record


def sample_plots(out_dir: Path, champion: bool) -> list[PlotRow]:
    """Curves of the sample run's objective and loss (with the champion's), drawn by promoter."""
    steps = tuple(range(0, 2000, 100))
    ours = {
        "val_acc": [0.6 + 0.33 * (1 - math.exp(-i / 5)) for i in range(20)],
        "loss": [0.9 * math.exp(-i / 6) + 0.18 for i in range(20)],
    }
    theirs = {
        "val_acc": [0.58 + 0.345 * (1 - math.exp(-i / 6)) for i in range(20)],
        "loss": [0.95 * math.exp(-i / 7) + 0.19 for i in range(20)],
    }
    series = {k: ScalarSeries(k, "", steps, tuple(v)) for k, v in ours.items()}
    champion_series = {k: ScalarSeries(k, "", steps, tuple(v)) for k, v in theirs.items()}
    drawn = draw_curves(series, out_dir, champion_series=champion_series if champion else None)
    return [
        PlotRow(title, str(path), "curve", name)
        for name, (title, path) in zip(series, drawn, strict=True)
    ]


def write_page(out: Path, *, champion: bool, dirty: bool, failed: bool, opened: bool) -> Path:
    """The body (.md) and its page (.html) beside ``out``; returns the page."""
    files = out.with_name(out.stem + "_files")
    plots = sample_plots(files, champion)
    record = screenshot_record(plots, champion=champion, dirty=dirty, failed=failed)
    marker = f"<!-- promoter:op=train run={RUN_ID} -->"
    # Relative to the page, as a local forge does: the body links no file: or absolute paths.
    body = render_body(
        record,
        image_url=lambda p: Path(p).relative_to(out.parent).as_posix(),
        record_url=f"{REPOSITORY}/blob/0123abcd/.promoter/promotions/{RUN_ID}/record.yaml",
        marker=marker,
        max_chars=GitHubForge.body_limit,
        commit_url=lambda sha: f"{REPOSITORY}/commit/{sha}",
    )
    page = render_html(body, record.pr.title)
    if opened:
        page = page.replace("<details>", "<details open>")
    out.with_suffix(".md").write_text(body, encoding="utf-8")
    html_path = out.with_suffix(".html")
    html_path.write_text(page, encoding="utf-8")
    print(f"body: {out.with_suffix('.md')} ({len(body):,} characters)\npage: {html_path}")
    return html_path


def shoot(browser: str, page: Path, out: Path, *, whole: bool) -> None:
    """A headless screenshot of ``page``: the first screen, or the whole page trimmed."""
    width, height = FIRST_SCREEN
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
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{WHOLE_PAGE_HEIGHT if whole else height}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if whole:
        _trim_bottom(out)
    print(f"screenshot: {out}")


def _trim_bottom(png: Path, margin: int = 24) -> None:
    """Cut the blank space below the page's content."""
    from PIL import Image, ImageChops

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
        if box is not None:
            rgb.crop((0, 0, rgb.width, min(rgb.height, box[3] + margin))).save(png)


def main() -> int:
    """Write the sample body, its HTML page and, with chromium, the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-champion", action="store_true", help="a first promotion")
    parser.add_argument("--dirty", action="store_true", help="a run from a dirty source tree")
    parser.add_argument("--failed", action="store_true", help="a failing acceptance criterion")
    parser.add_argument("--open", action="store_true", help="show the <details> sections open")
    parser.add_argument("--whole", action="store_true", help="the whole page, not one screen")
    parser.add_argument("--docs", action="store_true", help=f"write the set in {DOCS}")
    default_out = Path(tempfile.gettempdir()) / "pr_body.png"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if args.docs:
        DOCS.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            for name, champion in (("champion", True), ("first-promotion", False)):
                page = write_page(
                    Path(scratch) / f"{name}.png",
                    champion=champion,
                    dirty=False,
                    failed=False,
                    opened=False,
                )
                if browser is None:
                    print("no chromium found (apt-get install -y chromium)")
                    return 1
                shoot(browser, page, DOCS / f"pr-body-{name}-first-screen.png", whole=False)
                shoot(browser, page, DOCS / f"pr-body-{name}-whole-page.png", whole=True)
        return 0
    out: Path = args.out.resolve()
    page = write_page(
        out,
        champion=not args.no_champion,
        dirty=args.dirty,
        failed=args.failed,
        opened=args.open,
    )
    if browser is None:
        print("no chromium found (apt-get install -y chromium): open the page in a browser")
        return 0
    shoot(browser, page, out, whole=args.whole or args.open)
    return 0


if __name__ == "__main__":
    sys.exit(main())
