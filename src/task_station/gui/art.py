"""The station's robot in the interface: bot state icons and the empty-state mascot.

The state icons are the robot in miniature, its lamp and eyes telling the state (SVG
sources in ``resources/walle/states/``, drawn for this project). They are rendered once
per size at first use and cached: a table of bots asks for them on every repaint.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from task_station.domain.bots import BotStatus
from task_station.gui.resources import render_svg, resource_path, robot_pixmap

#: Which drawing shows which lifecycle status.
STATE_ART: dict[BotStatus, str] = {
    BotStatus.CREATED: "idle",
    BotStatus.STOPPED: "idle",
    BotStatus.FINISHED: "idle",
    BotStatus.STARTING: "running",
    BotStatus.RUNNING: "running",
    BotStatus.PAUSED: "paused",
    BotStatus.STOPPING: "paused",
    BotStatus.ERROR: "error",
}
ICON_SIZES = (16, 24, 32, 48, 64)


@cache
def state_icon(state: str) -> QIcon:
    """The icon of one drawing (``idle``, ``running``, ``paused`` or ``error``)."""
    svg = resource_path("walle", "states", f"{state}.svg")
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(QPixmap.fromImage(render_svg(svg, size)))
    return icon


def bot_state_icon(status: BotStatus, paused: bool = False) -> QIcon:
    """The icon for a bot in ``status`` (``paused``: a running bot a trader paused)."""
    return state_icon("paused" if paused else STATE_ART.get(status, "idle"))


class EmptyState(QWidget):
    """The robot and a line of guidance, for a view with nothing to show yet."""

    def __init__(self, message: str, parent: QWidget | None = None, size: int = 128) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.picture = QLabel()
        self.picture.setPixmap(robot_pixmap(size))
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel(message)
        self.message.setObjectName("emptyStateText")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.picture)
        layout.addWidget(self.message)
        layout.addStretch(1)

    def set_message(self, text: str) -> None:
        self.message.setText(text)
