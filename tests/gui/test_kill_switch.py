"""The red kill-switch button: a confirmation first, then every bot stops, and the status
bar says the switch is engaged until an admin releases it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox, QToolButton
from pytestqt.qtbot import QtBot

from task_station.domain.bots import BotStatus
from task_station.gui.kill_switch import KILL_RED, KillSwitchDialog
from task_station.gui.main_window import MainWindow
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import make_bot, settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]


def window_for(qtbot: QtBot, services: Services, login: LoginResult, tmp_path: Path) -> MainWindow:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, login.principal, None, settings)
    qtbot.addWidget(window)
    return window


def kill_button(window: MainWindow) -> QToolButton:
    button = window.findChild(QToolButton, "killSwitchButton")
    assert isinstance(button, QToolButton)
    return button


def open_dialog(qtbot: QtBot, window: MainWindow) -> KillSwitchDialog:
    qtbot.mouseClick(kill_button(window), Qt.MouseButton.LeftButton)
    dialog = window.findChild(KillSwitchDialog)
    assert isinstance(dialog, KillSwitchDialog) and dialog.isVisible()
    return dialog


def test_kill_switch_button_confirms_then_stops_every_bot(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run, tmp_path: Path
) -> None:
    services.bots._pace = 0.01  # slow enough to be running when the button is pressed
    bots = [make_bot(services, admin, f"bot {seed}", seed=seed) for seed in (3, 4)]
    window = window_for(qtbot, services, admin, tmp_path)
    button = kill_button(window)
    assert button.text() == "Kill switch" and KILL_RED in button.styleSheet()
    assert button.isEnabled() and not window.kill_switch.release_action.isVisible()

    async def scenario() -> None:
        for bot in bots:
            await services.bots.start(admin.principal, bot.id)
        # Cancel changes nothing
        dialog = open_dialog(qtbot, window)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
        await settle(0.1)
        assert all(services.bots.is_running(b.id) for b in bots)
        # OK without a reason is refused inline
        dialog = open_dialog(qtbot, window)
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok.text() == "Stop everything"
        ok.click()
        assert dialog.isVisible() and "Say why" in dialog.error_label.text()
        assert not services.bots.global_risk.kill_switch.engaged
        # with a reason it stops everything
        qtbot.keyClicks(dialog.reason_edit, "strategy gone wild")
        ok.click()
        await until(
            lambda: all(services.bots.get(b.id).status is BotStatus.STOPPED for b in bots),
            timeout=20,
            what="every bot stopped",
        )
        await settle()

    run(scenario())
    state = services.bots.global_risk.kill_switch
    assert state.engaged and state.reason == "strategy gone wild" and state.actor == "admin"
    label = window.kill_switch.status_label
    assert label.text() == "KILL SWITCH ENGAGED" and KILL_RED in label.styleSheet()
    assert "strategy gone wild" in label.toolTip()
    assert window.statusBar().currentMessage().startswith("kill switch engaged: 2 bot(s) stopped")
    assert not button.isEnabled()
    release = window.kill_switch.release_action
    assert release.isVisible() and release.isEnabled()

    release.trigger()
    assert not services.bots.global_risk.kill_switch.engaged
    assert label.text() == "" and button.isEnabled() and not release.isVisible()


def test_a_switch_engaged_elsewhere_shows_and_viewers_cannot_press_it(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run, tmp_path: Path
) -> None:
    services.users.create("vera", "viewer-password", "viewer", admin.principal)
    viewer = services.auth.login("vera", "viewer-password")
    window = window_for(qtbot, services, viewer, tmp_path)
    assert not kill_button(window).isEnabled()

    run(services.bots.kill_switch(admin.principal, "from the API"))  # another face

    assert window.kill_switch.status_label.text() == "KILL SWITCH ENGAGED"
    assert not window.kill_switch.release_action.isEnabled()  # admins only
