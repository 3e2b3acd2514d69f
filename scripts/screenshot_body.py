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

from promoter.models import ScalarSeries
from promoter.plots import draw_curves
from promoter.record import (
    ChampionInfo,
    CriterionRow,
    DependencyRow,
    DvcRow,
    FileRow,
    FlagRow,
    ObjectiveInfo,
    PlotRow,
    PrInfo,
    PromotionRecord,
    Reproduce,
    RunInfo,
    ScalarRow,
    TriggerInfo,
)
from promoter.render.html import render_html
from promoter.render.markdown import render_body

RUN_ID = "3f2a9c1b5d7e4f60a1b2c3d4e5f60718"
CHAMPION_ID = "77aa11bb0c9d8e7f6a5b4c3d2e1f0a9b"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def sample_record(plots: list[PlotRow], *, dirty: bool, failed: bool) -> PromotionRecord:
    """A realistic promotion of a scikit-learn ``train`` run over a champion."""
    latency = 52.5 if failed else 38.2
    return PromotionRecord(
        decision="promote",
        summary="run 3f2a9c1b has val_acc 0.9312; champion 77aa11bb has 0.925: "
        "improvement 0.0062 >= 0.002 required",
        run=RunInfo(
            id=RUN_ID,
            short_id=RUN_ID[:8],
            op="train",
            status="completed",
            label="lr=0.01 batch_size=64 (augmented digits)",
            tags=["nightly"],
            started="2024-05-01T12:00:00+00:00",
            stopped="2024-05-01T12:42:10+00:00",
            host="gpu-box-1",
            user="alice",
            vcs_commit="git:1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b" + ("*" if dirty else ""),
            dirty_source=dirty,
            sourcecode_digest="9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            random_seed=1234,
            command=["python", "-um", "train"],
            python="3.11.7",
            packages_count=84,
            packages_sha256="5e" * 32,
        ),
        objective=ObjectiveInfo("val_acc", "max", 0.9312, 0.925, "champion.yaml", 0.0062, 0.002),
        criteria=[
            CriterionRow("val_acc >= 0.90", True, {"val_acc": 0.9312}, champion_passed=True),
            CriterionRow(
                "latency_ms <= 40", not failed, {"latency_ms": latency}, champion_passed=False
            ),
        ],
        scalars=[
            ScalarRow("latency_ms", latency, 41.0, latency - 41.0, 20),
            ScalarRow("loss", 0.1873, 0.2011, -0.0138, 20),
            ScalarRow("val_acc", 0.9312, 0.925, 0.0062, 20),
        ],
        flags=[
            FlagRow("batch_size", 64, 32, True, True),
            FlagRow("epochs", 20, 20, True, False),
            FlagRow("lr", 0.01, 0.001, True, True),
            FlagRow("augment", True, True, True, False),
        ],
        files=[
            FileRow("train.py", "source", "c0ffee" * 10 + "abcd", 4211),
            FileRow("params.yml", "flags", "beef" * 16, 120),
        ],
        dvc=[
            DvcRow(
                "models/model.pkl",
                "d41d8cd98f00b204e9800998ecf8427e",
                12_345_678,
                None,
                "storage",
                "s3://ml-models/dvc",
                True,
            )
        ],
        dependencies=[DependencyRow("data/digits.csv", "aa" * 20)],
        plots=plots,
        champion=ChampionInfo(
            CHAMPION_ID, "train", 0.925, {"models/model.pkl": "0cc175b9c0f1b6a831c399e269772661"}
        ),
        reproduce=Reproduce(
            "guild run train augment=yes batch_size=64 epochs=20 lr=0.01",
            "dvc pull models/model.pkl",
        ),
        trigger=TriggerInfo(
            "schedule",
            "octocat",
            "2024-05-02T03:00:00Z",
            "https://github.com/acme/ml/actions/runs/1",
        ),
        pr=PrInfo("promote/train", "main", "Promote train run 3f2a9c1b: val_acc 0.9312"),
        tools={"promoter": "0.1.0", "guild": "0.9.0", "dvc": "3.67.0", "python": "3.11.7"},
    )


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
    record = sample_record(sample_plots(files), dirty=args.dirty, failed=args.failed)
    marker = f"<!-- promoter:op=train run={RUN_ID} -->"
    # Relative to the page, as a local forge does: the body links no file: or absolute paths.
    body = render_body(
        record,
        image_url=lambda p: Path(p).relative_to(out.parent).as_posix(),
        record_url="record.yaml",
        marker=marker,
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
