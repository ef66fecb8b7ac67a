"""Find the station's resources (themes, icons, robot art) wherever it is installed.

In an editable checkout they sit in the repository's top-level ``resources/``; a wheel
ships the same tree as ``task_station/_resources`` (see pyproject's force-include).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

import task_station


@cache
def resources_root() -> Path:
    """The ``resources`` directory: the checkout's if present, else the wheel's."""
    checkout = Path(__file__).resolve().parents[3] / "resources"
    if (checkout / "themes").is_dir():
        return checkout
    return Path(task_station.__file__).resolve().parent / "_resources"


def resource_path(*parts: str) -> Path:
    """Path of a resource file, e.g. ``resource_path("themes", "dark.qss")``."""
    path = resources_root().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"station resource {'/'.join(parts)} not found under {resources_root()}"
        )
    return path


def render_svg(svg: Path, size: int) -> QImage:
    """Render an SVG into a transparent square image, keeping its aspect ratio."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    view = renderer.viewBoxF()
    scale = size / max(view.width(), view.height())
    w, h = view.width() * scale, view.height() * scale
    renderer.render(painter, QRectF((size - w) / 2, (size - h) / 2, w, h))
    painter.end()
    return image


def robot_pixmap(size: int) -> QPixmap:
    """The station's robot, rendered crisp at ``size`` pixels (for dialogs)."""
    return QPixmap.fromImage(render_svg(resource_path("walle", "robot.svg"), size))


def app_icon() -> QIcon:
    """The window icon: the robot PNG, with the SVG as a scalable fallback."""
    icon = QIcon(str(resource_path("icons", "app-icon.png")))
    return icon if not icon.isNull() else QIcon(str(resource_path("walle", "robot.svg")))
