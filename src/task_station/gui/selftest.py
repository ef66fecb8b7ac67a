"""The GUI half of ``task-station --selftest``: open the real main window, let Qt lay
it out and paint it, check what it shows, and close it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDockWidget

from task_station.gui.main_window import MainWindow
from task_station.services.bundle import Services
from task_station.services.principal import Principal


class SelftestError(RuntimeError):
    """What the window did not show."""


async def open_main_window(
    services: Services, principal: Principal, api_url: str | None, settings_file: Path
) -> dict[str, object]:
    """Show the main window for a moment; what it showed (title, docks, size).

    ``settings_file`` is a throw-away QSettings file: the trader's own window layout
    is neither read nor changed.
    """
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    window = MainWindow(services, principal, api_url, settings)
    try:
        window.show()
        for _ in range(5):  # a few turns of the loop: layout, timers, first paint
            QApplication.processEvents()
            await asyncio.sleep(0.05)
        image = window.grab()
        docks = sorted(d.windowTitle() for d in window.findChildren(QDockWidget))
        if not window.isVisible() or image.isNull() or image.width() < 100:
            raise SelftestError("the main window did not render")
        if not docks:
            raise SelftestError("the main window has no docks")
        return {"title": window.windowTitle(), "docks": docks,
                "size": [image.width(), image.height()]}  # fmt: skip
    finally:
        window.close()
        window.deleteLater()
        QApplication.processEvents()
