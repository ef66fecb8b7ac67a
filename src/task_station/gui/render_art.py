"""Render the robot SVG into the PNGs the station ships (app icon, large robot).

Run ``python -m task_station.gui.render_art`` after editing ``resources/walle/robot.svg``
and commit the PNGs: rendering at start-up would make the icon depend on the SVG
renderer of whatever Qt the user has.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath

from task_station.gui.palette import COLORS
from task_station.gui.resources import render_svg, resources_root


def render_icon(robot: Path, size: int = 256) -> QImage:
    """The app icon: the robot on a rounded navy tile with an amber rim."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    tile = QPainterPath()
    margin = size * 0.03
    tile.addRoundedRect(
        QRectF(margin, margin, size - 2 * margin, size - 2 * margin), size * 0.2, size * 0.2
    )
    painter.fillPath(tile, QColor(COLORS["surface"]))
    painter.setPen(QColor(COLORS["accent_dim"]))
    painter.drawPath(tile)
    inner = int(size * 0.86)
    offset = (size - inner) / 2
    painter.drawImage(QRectF(offset, offset, inner, inner), render_svg(robot, inner))
    painter.end()
    return image


def render_all(root: Path | None = None) -> list[Path]:
    """Write ``walle/robot-512.png`` and ``icons/app-icon.png``; return their paths."""
    root = root or resources_root()
    robot = root / "walle" / "robot.svg"
    outputs = {
        root / "walle" / "robot-512.png": render_svg(robot, 512),
        root / "icons" / "app-icon.png": render_icon(robot, 256),
    }
    for path, image in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path)):
            raise OSError(f"could not write {path}")
    return list(outputs)


def main() -> int:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for path in render_all():
        print(f"wrote {path}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
