"""The start-up splash: the robot on screen within moments of launch.

Importing the station (Qt, pyqtgraph, pandas, SQLAlchemy, ccxt, web3...) and opening
its database takes seconds; a window that appears only after all of it looks like a
launch that failed. The splash is shown by the GUI entry point right after the
``QApplication`` exists, before anything heavy is imported, and says what the station
is doing until the first real window takes over.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from task_station.gui.palette import COLORS
from task_station.gui.resources import robot_pixmap

WIDTH, HEIGHT = 420, 300


def splash_pixmap() -> QPixmap:
    pixmap = QPixmap(WIDTH, HEIGHT)
    pixmap.fill(QColor(COLORS["bg"]))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(COLORS["accent_dim"]))
    painter.drawRect(0, 0, WIDTH - 1, HEIGHT - 1)
    robot = robot_pixmap(170)
    painter.drawPixmap((WIDTH - robot.width()) // 2, 24, robot)
    font = QFont(painter.font())
    font.setPointSize(16)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor(COLORS["accent"]))
    painter.drawText(0, 200, WIDTH, 30, Qt.AlignmentFlag.AlignCenter, "TASK Station")
    painter.end()
    return pixmap


class StationSplash(QSplashScreen):
    def __init__(self) -> None:
        super().__init__(splash_pixmap())
        self.setObjectName("stationSplash")

    def step(self, text: str) -> None:
        """Say what the station is doing now (repainted at once)."""
        self.showMessage(
            text,
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
            QColor(COLORS["text_dim"]),
        )
        QApplication.processEvents()


def show_splash() -> StationSplash | None:
    """Show the splash (None on platforms without windows to show, e.g. ``minimal``)."""
    if QGuiApplication.platformName() == "minimal":
        return None
    splash = StationSplash()
    splash.show()
    splash.step("Starting…")
    return splash
