"""The start-up splash shows the robot and what the station is doing."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from task_station.gui.splash import HEIGHT, WIDTH, show_splash


def test_the_splash_shows_progress(qtbot: QtBot) -> None:
    splash = show_splash()
    assert splash is not None
    qtbot.addWidget(splash)
    assert splash.isVisible()
    assert (splash.pixmap().width(), splash.pixmap().height()) == (WIDTH, HEIGHT)
    assert splash.message() == "Starting…"
    splash.step("Opening the database…")
    assert splash.message() == "Opening the database…"
    splash.close()
