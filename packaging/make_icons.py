"""Make the desktop icons from the station's robot artwork.

``resources/walle/robot-512.png`` becomes ``task-station.ico`` (Windows: 16 to 256 px)
``task-station.icns`` (macOS: 16 to 512 px) and ``task-station.png`` (Linux, 256 px)::

    python packaging/make_icons.py [OUT_DIR]      # default: build/icons

Needs Pillow (``pip install -e ".[packaging]"``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "walle" / "robot-512.png"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)
NAME = "task-station"


def make_icons(out_dir: Path, source: Path = SOURCE) -> list[Path]:
    """Write the .ico, .icns and .png icons into ``out_dir``; the paths written."""
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as opened:
        robot = opened.convert("RGBA")
    if robot.size[0] != robot.size[1] or robot.size[0] < max(ICNS_SIZES):
        raise ValueError(f"{source} must be square and at least {max(ICNS_SIZES)} px")
    resized = {s: robot.resize((s, s), Image.Resampling.LANCZOS) for s in ICNS_SIZES + ICO_SIZES}
    ico, icns, png = (out_dir / f"{NAME}{ext}" for ext in (".ico", ".icns", ".png"))
    resized[256].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    largest = resized[max(ICNS_SIZES)]
    largest.save(icns, format="ICNS", append_images=[resized[s] for s in ICNS_SIZES[:-1]])
    resized[256].save(png, format="PNG")
    return [ico, icns, png]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "icons"
    for path in make_icons(target):
        print(path)
