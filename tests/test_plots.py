"""Scalar curves: a PNG per scalar, same bytes for same data, champion drawn, names contained."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from promoter.core.models import ScalarSeries
from promoter.promotion.plots import draw_curves

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CANDIDATE_RGB = (0x09, 0x69, 0xDA)
CHAMPION_RGB = (0xCF, 0x22, 0x2E)


def series(name: str, values: list[float], start: int = 0) -> ScalarSeries:
    return ScalarSeries(name, "", tuple(range(start, start + 10 * len(values), 10)), tuple(values))


def curve(name: str = "val_acc") -> ScalarSeries:
    return series(name, [0.6 + 0.3 * (1 - math.exp(-i / 4)) for i in range(15)])


def pixels_near(path: Path, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    with Image.open(path) as img:
        rgb_pixels = np.asarray(img.convert("RGB"), dtype=int)
    return int((abs(rgb_pixels - np.array(rgb)) <= tolerance).all(axis=2).sum())


def test_one_png_per_scalar(tmp_path: Path) -> None:
    drawn = draw_curves({"val_acc": curve(), "loss": curve("loss")}, tmp_path / "plots")
    assert [(title, path.name) for title, path in drawn] == [
        ("val_acc", "val_acc.png"),
        ("loss", "loss.png"),
    ]
    for _, path in drawn:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        with Image.open(path) as img:
            assert img.size == (420, 260)
        assert pixels_near(path, CANDIDATE_RGB) > 200
        assert pixels_near(path, CHAMPION_RGB) == 0


def test_same_data_same_bytes(tmp_path: Path) -> None:
    data = {"val_acc": curve(), "loss": curve("loss")}
    first = draw_curves(data, tmp_path / "a", champion={"val_acc": 0.9})
    second = draw_curves(data, tmp_path / "b", champion={"val_acc": 0.9})
    for (_, a), (_, b) in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert b"Software" not in first[0][1].read_bytes()


def test_champion_value_is_a_dashed_line(tmp_path: Path) -> None:
    ((_, plain),) = draw_curves({"val_acc": curve()}, tmp_path / "plain")
    ((_, champ),) = draw_curves({"val_acc": curve()}, tmp_path / "champ", champion={"val_acc": 0.8})
    assert plain.read_bytes() != champ.read_bytes()
    assert pixels_near(plain, CHAMPION_RGB) == 0
    assert pixels_near(champ, CHAMPION_RGB) > 100


def test_champion_series_is_a_second_line(tmp_path: Path) -> None:
    theirs = {"val_acc": series("val_acc", [0.5, 0.7, 0.8, 0.85], start=5)}
    ((_, value_only),) = draw_curves(
        {"val_acc": curve()}, tmp_path / "v", champion={"val_acc": 0.8}
    )
    ((_, both),) = draw_curves(
        {"val_acc": curve()}, tmp_path / "s", champion={"val_acc": 0.8}, champion_series=theirs
    )
    assert pixels_near(both, CHAMPION_RGB) > 100
    assert both.read_bytes() != value_only.read_bytes()


def test_single_point_draws_a_marker(tmp_path: Path) -> None:
    ((_, path),) = draw_curves({"acc": series("acc", [0.5])}, tmp_path)
    assert pixels_near(path, CANDIDATE_RGB) > 10


def test_nan_is_skipped_and_named_in_the_title(tmp_path: Path) -> None:
    data = {"loss": series("loss", [1.0, math.nan, 0.5, 0.4]), "ok": curve("ok")}
    drawn = draw_curves(data, tmp_path)
    assert [title for title, _ in drawn] == ["loss (NaN in series)", "ok"]
    assert pixels_near(drawn[0][1], CANDIDATE_RGB) > 100
    ((title, _),) = draw_curves({"all": series("all", [math.nan, math.inf])}, tmp_path / "x")
    assert title == "all (NaN in series, inf in series)"
    ((title, _),) = draw_curves({"none": series("none", [])}, tmp_path / "y")
    assert title == "none (no values)"


def test_hostile_names_stay_inside_out_dir(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "plots"
    names = ["../x", "a/b#c", "/etc/passwd", "..", ".hidden", "", "a" * 300, "$\\frac{1}{0", "ü"]
    names += ["A", "a", "a_b", "a/b"]
    drawn = draw_curves({n: curve(n) for n in names}, out)
    paths = [path for _, path in drawn]
    assert len(set(paths)) == len(names)
    for path in paths:
        assert path.resolve().parent == out.resolve()
        assert path.suffix == ".png" and not path.name.startswith(".")
        assert len(path.name) < 80
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        p.name for p in paths
    )
    assert [title for title, _ in drawn][7] == "$\\frac{1}{0"


def test_matplotlib_is_imported_only_when_drawing() -> None:
    code = "import sys, promoter.promotion.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
