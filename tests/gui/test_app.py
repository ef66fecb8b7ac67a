"""The whole GUI session, the main window, and the loop helpers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from task_station.gui.app import run_gui_session
from task_station.gui.dialogs import FirstAdminDialog, FormDialog, LoginDialog
from task_station.gui.main_window import MainWindow
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import ADMIN_PASSWORD, make_bot, settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]
W = TypeVar("W", bound=QWidget)


def visible(kind: type[W]) -> W | None:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    return found[0] if found else None


async def fill_and_submit(kind: type[FormDialog], **fields: str) -> FormDialog:
    await until(lambda: visible(kind) is not None, timeout=10, what=f"a {kind.__name__}")
    dialog = visible(kind)
    assert dialog is not None
    for name, value in fields.items():
        getattr(dialog, name).setText(value)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    return dialog


def test_session_first_run_creates_admin_logs_in_and_ends_on_close(
    services: Services, run: Run, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    seen: dict[str, str] = {}

    async def user() -> None:
        await fill_and_submit(
            FirstAdminDialog, password_edit=ADMIN_PASSWORD, confirm_edit=ADMIN_PASSWORD
        )
        await fill_and_submit(LoginDialog, username_edit="admin", password_edit=ADMIN_PASSWORD)
        await until(lambda: visible(MainWindow) is not None, timeout=10, what="the main window")
        window = visible(MainWindow)
        assert window is not None
        seen.update(
            title=window.windowTitle(), user=window.user_label.text(), api=window.api_label.text()
        )
        window.close()

    async def both() -> None:
        session = asyncio.ensure_future(
            run_gui_session(services, api_url="http://127.0.0.1:9999", settings=settings)
        )
        await user()
        await asyncio.wait_for(session, timeout=10)

    run(both())
    assert seen == {
        "title": "TASK Station",
        "user": "User: admin (admin)",
        "api": "API: http://127.0.0.1:9999",
    }
    assert settings.value("main/state") is not None


def test_session_login_cancelled_returns_without_window(
    services: Services, admin: LoginResult, run: Run
) -> None:
    async def both() -> None:
        session = asyncio.ensure_future(run_gui_session(services, api_url=None))
        await until(lambda: visible(LoginDialog) is not None, timeout=10, what="the login dialog")
        dialog = visible(LoginDialog)
        assert dialog is not None
        dialog.reject()
        await asyncio.wait_for(session, timeout=10)

    run(both())
    assert visible(MainWindow) is None


def test_main_window_selects_running_bot_and_counts_it(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run, tmp_path: Path
) -> None:
    idle = make_bot(services, admin, "idle", seed=1)
    busy = make_bot(services, admin, "busy", seed=2)
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)

    async def scenario() -> MainWindow:
        await services.bots.start(admin.principal, busy.id)
        window = MainWindow(services, admin.principal, None, settings)
        qtbot.addWidget(window)
        await settle()
        return window

    window = run(scenario())
    assert window.chart_panel.bot_id == busy.id
    assert window.running_label.text() == "Running bots: 1"
    assert window.api_label.text() == "API: off"
    assert idle.id != window.chart_panel.bot_id


def test_main_window_restores_saved_geometry(
    qtbot: QtBot, services: Services, admin: LoginResult, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    first = MainWindow(services, admin.principal, None, settings)
    qtbot.addWidget(first)
    first.resize(640, 480)  # within the offscreen screen (800x600)
    first.close()
    second = MainWindow(services, admin.principal, None, settings)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (640, 480)


def test_create_application_runs_coroutine_and_exits_cleanly(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from PySide6.QtCore import QCoreApplication, Qt
        from task_station.gui.qt_loop import create_application, run_until_closed

        async def main() -> str:
            await asyncio.sleep(0.05)
            return "done"

        app, loop = create_application(sys.argv)
        assert QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        assert app.applicationName() == "TASK Station" and not app.windowIcon().isNull()
        assert "$" not in app.styleSheet() and app.styleSheet()
        print(run_until_closed(loop, main()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


def test_many_void_qt_calls_do_not_free_none(tmp_path: Path) -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call and the
    interpreter aborts ("none_dealloc") within seconds of a bot running under qasync.
    pyproject.toml excludes that release; this guards the pin against a careless bump."""
    script = textwrap.dedent(
        """
        import task_station.gui
        from PySide6.QtCore import QObject
        probe = QObject()
        for _ in range(200_000):
            probe.setObjectName("probe")
        print("alive")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alive"
