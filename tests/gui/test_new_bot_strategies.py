"""The trader's strategy files in the GUI: the new-bot dialog follows edits (its timer),
reloads on a click, lists broken files, and creates a bot that runs; the main window's
"Reload my strategies" reports in the status bar and a message box."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox, QSpinBox
from pytestqt.qtbot import QtBot

from task_station.container import Container
from task_station.domain.bots import BotStatus
from task_station.gui.main_window import MainWindow
from task_station.gui.new_bot_dialog import NewBotDialog
from task_station.services.bundle import Services
from task_station.services.users import LoginResult
from tests.support.user_strategy import BROKEN, hold, write_strategy

from .helpers import until

_LEFT = Qt.MouseButton.LeftButton


def folder(station: Container) -> Path:
    return station.settings.data_dir / "strategies"


def open_dialog(qtbot: QtBot, services: Services, admin: LoginResult) -> NewBotDialog:
    dialog = NewBotDialog(services.bots, admin.principal, strategies=services.strategies)
    qtbot.addWidget(dialog)
    return dialog


def test_the_dialog_picks_up_a_new_file_by_itself_and_creates_a_bot_that_trades(
    qtbot: QtBot,
    station: Container,
    services: Services,
    admin: LoginResult,
    run: Callable[[Coroutine[Any, Any, Any]], Any],
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    assert "my_hold" not in dialog.strategy_names()
    dialog.poll_timer.setInterval(20)  # the real timer, just faster than the 3 s default
    write_strategy(folder(station), hold())
    qtbot.waitUntil(lambda: "my_hold" in dialog.strategy_names(), timeout=5000)
    assert dialog.strategy_info.text() == "strategies: added my_hold"
    dialog.strategy_combo.setCurrentText("my_hold")
    assert "(your file my_hold.py)" in dialog.strategy_info.text()
    delay = dialog.param_form.editors["delay"]
    assert isinstance(delay, QSpinBox) and delay.minimum() == 0
    delay.setValue(2)
    dialog.name_edit.setText("mine")
    dialog.fee_edit.setText("0")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.error_text == ""
    [bot] = services.bots.list()
    assert (bot.strategy, bot.params) == ("my_hold", {"delay": 2})

    run(services.bots.start(admin.principal, bot.id))
    run(until(lambda: bool(services.orders.fills(bot_id=bot.id)), what="the buy"))
    run(services.bots.stop(admin.principal, bot.id))
    assert services.bots.get(bot.id).status in (BotStatus.STOPPED, BotStatus.FINISHED)
    [fill] = services.orders.fills(bot_id=bot.id)
    assert Decimal(4_999) < fill.price * fill.quantity <= Decimal(5_000)  # half of 10000


def test_reload_button_lists_broken_files_and_keeps_the_form_on_an_edit(
    qtbot: QtBot, station: Container, services: Services, admin: LoginResult
) -> None:
    write_strategy(folder(station), hold())
    dialog = open_dialog(qtbot, services, admin)
    dialog.poll_timer.stop()
    qtbot.mouseClick(dialog.reload_button, _LEFT)
    dialog.strategy_combo.setCurrentText("my_hold")
    dialog.param_form.set_values({"delay": 4})
    write_strategy(folder(station), hold("0.25"))
    write_strategy(folder(station), BROKEN, "broken.py")
    qtbot.mouseClick(dialog.reload_button, _LEFT)
    assert dialog.strategy_combo.currentText() == "my_hold"
    assert dialog.param_form.values() == {"delay": 4}  # the edited file kept its schema
    assert dialog.strategy_problems.isVisibleTo(dialog)
    assert dialog.strategy_problems.text() == (
        "Not loaded from your strategy files:\nbroken.py:4: syntax error: expected ':'"
    )
    assert "updated my_hold; 1 problem(s)" in dialog.strategy_info.text()
    (folder(station) / "my_hold.py").unlink()
    assert dialog.poll_strategies().removed == ("my_hold",)
    assert "my_hold" not in dialog.strategy_names()
    assert dialog.strategy_combo.currentText() == dialog.strategy_names()[0]


def test_the_main_window_reload_action_reports_changes_and_problems(
    qtbot: QtBot, station: Container, services: Services, admin: LoginResult, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, admin.principal, None, settings)
    qtbot.addWidget(window)
    window.strategy_poll.stop()
    write_strategy(folder(station), hold())
    window.reload_strategies_action.trigger()
    assert window.statusBar().currentMessage() == "strategies: added my_hold"
    assert window.last_error is None
    write_strategy(folder(station), BROKEN, "broken.py")
    window.reload_strategies_action.trigger()
    assert window.last_error == (
        "Not loaded from your strategy files:\nbroken.py:4: syntax error: expected ':'"
    )
    write_strategy(folder(station), hold(name="another"), "another.py")
    window.poll_strategies()
    assert window.statusBar().currentMessage().startswith("strategies: added another")


def test_edit_as_text_and_back_keeps_the_values(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = open_dialog(qtbot, services, admin)
    dialog.text_mode.setChecked(True)
    assert dialog.params_edit.isVisibleTo(dialog) and not dialog.param_form.isVisibleTo(dialog)
    assert dialog.params_edit.text() == "fast=10 slow=30"
    dialog.params_edit.setText("fast=4 slow=9")
    dialog.text_mode.setChecked(False)
    assert dialog.param_form.values() == {"fast": 4, "slow": 9}
    dialog.text_mode.setChecked(True)
    dialog.params_edit.setText("fast 4")
    dialog.text_mode.setChecked(False)  # refused: the text cannot be read back
    assert dialog.text_mode.isChecked() and "name=value" in dialog.error_text
    dialog.params_edit.setText("fast=5 slow=9")
    dialog.strategy_combo.setCurrentText("rules")  # a JSON rule set is not name=value text
    assert not dialog.text_mode.isChecked() and not dialog.text_mode.isEnabled()
    assert dialog.param_form.isVisibleTo(dialog) and not dialog.params_edit.isVisibleTo(dialog)
    dialog.strategy_combo.setCurrentText("sma_cross")
    assert dialog.text_mode.isEnabled()
