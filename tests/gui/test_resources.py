"""The station's own artwork and theme are found and render."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtGui import QImage

from task_station.gui.render_art import render_all
from task_station.gui.resources import resource_path, robot_pixmap
from task_station.gui.theme import stylesheet


def test_shipped_pngs_have_their_sizes(qapp: object) -> None:
    assert QImage(str(resource_path("icons", "app-icon.png"))).size().toTuple() == (256, 256)
    assert QImage(str(resource_path("walle", "robot-512.png"))).size().toTuple() == (512, 512)


def test_render_art_writes_non_empty_pngs(qapp: object, tmp_path: Path) -> None:
    (tmp_path / "walle").mkdir()
    shutil.copy(resource_path("walle", "robot.svg"), tmp_path / "walle" / "robot.svg")
    paths = render_all(tmp_path)
    robot = QImage(str(tmp_path / "walle" / "robot-512.png"))
    assert {p.name for p in paths} == {"robot-512.png", "app-icon.png"}
    centre = robot.pixelColor(256, 330)
    assert centre.alpha() == 255, "the robot's body fills the middle"
    assert robot.pixelColor(2, 2).alpha() == 0, "the background is transparent"


def test_stylesheet_fills_every_colour(qapp: object) -> None:
    qss = stylesheet()
    assert "$" not in qss and "QTableView" in qss
    assert not robot_pixmap(64).isNull()
