"""The desktop integration files: icons made from the robot, the .desktop entry, and
what the bundle leaves out."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
from pathlib import Path

from tests.packaging.conftest import PACKAGING, require


def test_icons_are_made_from_the_robot_in_every_size(
    packaging_scripts: Path, tmp_path: Path
) -> None:
    require("PIL")
    from make_icons import ICNS_SIZES, ICO_SIZES, make_icons
    from PIL import Image

    ico, icns, png = make_icons(tmp_path)
    with Image.open(ico) as image:
        assert image.format == "ICO"
        assert image.info["sizes"] == {(s, s) for s in ICO_SIZES}
    with Image.open(icns) as image:
        assert image.format == "ICNS"
        pixels = {w * scale for w, _h, scale in image.info["sizes"]}  # (16, 16, 2): 32 px
        assert pixels >= {32, 64, 128, 256, 512, 1024} and max(ICNS_SIZES) == 512
    with Image.open(png) as image:
        assert image.size == (256, 256) and image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0, "transparent corners"  # type: ignore[index]
        assert image.getpixel((128, 160))[3] == 255, "the robot in the middle"  # type: ignore[index]


def test_desktop_entry_launches_task_station_with_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(PACKAGING / "linux" / "task-station.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Name"] == "TASK Station"
    assert desktop["Exec"] == "task-station" and desktop["Icon"] == "task-station"
    assert desktop["Terminal"] == "false"
    assert desktop["Categories"].endswith(";")


def test_modules_the_bundle_leaves_out_are_not_needed_to_run_the_station(
    packaging_scripts: Path,
) -> None:
    """Import every face the bundle starts (CLI, API, GUI, selftest) in a fresh process:
    none of the excluded modules may be loaded, or the frozen station would fail."""
    from bundle_config import EXCLUDES

    baseline = subprocess.run(
        [sys.executable, "-c", "import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    code = (
        "import sys, json\n"
        "import task_station.cli, task_station.selftest, task_station.container\n"
        "import task_station.api.app, task_station.gui.main_window, task_station.gui.app\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=True
    )
    loaded = set(json.loads(done.stdout)) - set(json.loads(baseline.stdout))
    hit = sorted(m for m in loaded if any(m == x or m.startswith(x + ".") for x in EXCLUDES))
    assert hit == []
