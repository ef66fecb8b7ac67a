"""One event loop for Qt, the bots and the API: qasync's QEventLoop.

STACK-NOTES: ``qasync.run()`` aborted at interpreter exit with uvicorn, a websocket and
a subprocess in one run, so the loop is created, set and entered by hand instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from task_station.gui.resources import app_icon
from task_station.gui.theme import apply_theme

T = TypeVar("T")

APP_NAME = "TASK Station"
ORG_NAME = "TASK Station"


def create_application(argv: Sequence[str]) -> tuple[QApplication, qasync.QEventLoop]:
    """Create the QApplication (themed, with the robot icon) and its asyncio loop.

    ``AA_ShareOpenGLContexts`` must be set before the application exists: pyqtgraph
    caches shader programs per process and a second GL view would otherwise be black.
    The app does not quit when its last window closes: between the login dialog and the
    main window no window is open, and the session coroutine decides when to end.
    """
    existing = QApplication.instance()
    if existing is not None:
        raise RuntimeError("a QApplication already exists; create_application makes the only one")
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(list(argv))
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    return app, loop


def run_until_closed(loop: qasync.QEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` (typically the GUI session) to completion on ``loop`` and close it."""
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return loop.run_until_complete(coro)  # type: ignore[no-any-return]
    finally:
        asyncio.set_event_loop(None)
