"""The dialogs call the real services and show their errors inline."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox
from pytestqt.qtbot import QtBot

from task_station.domain.errors import ValidationError
from task_station.gui.dialogs import FirstAdminDialog, FormDialog, LoginDialog, VaultDialog
from task_station.gui.new_bot_dialog import NewBotDialog, parse_params
from task_station.security.vault import SecretsVault
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import ADMIN_PASSWORD


def press_ok(dialog: FormDialog | NewBotDialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_login_wrong_password_shows_inline_error(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = LoginDialog(services.auth)
    qtbot.addWidget(dialog)
    dialog.username_edit.setText("admin")
    dialog.password_edit.setText("not-the-password")
    press_ok(dialog)
    assert dialog.error_text == "wrong username or password"
    assert dialog.result is None
    assert dialog.password_edit.text() == ""


def test_login_right_password_sets_result(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = LoginDialog(services.auth)
    qtbot.addWidget(dialog)
    dialog.username_edit.setText("Admin ")
    dialog.password_edit.setText(ADMIN_PASSWORD)
    press_ok(dialog)
    assert dialog.result is not None
    assert dialog.result.principal.username == "admin"
    assert QDialog.result(dialog) == QDialog.DialogCode.Accepted.value


def test_first_admin_short_password_shows_policy_error(qtbot: QtBot, services: Services) -> None:
    dialog = FirstAdminDialog(services.users)
    qtbot.addWidget(dialog)
    dialog.password_edit.setText("short")
    dialog.confirm_edit.setText("short")
    press_ok(dialog)
    assert dialog.error_text == "the password must have at least 8 characters"
    assert services.users.needs_first_admin()


def test_first_admin_mismatch_then_valid_creates_admin(qtbot: QtBot, services: Services) -> None:
    dialog = FirstAdminDialog(services.users)
    qtbot.addWidget(dialog)
    dialog.password_edit.setText("long-enough-1")
    dialog.confirm_edit.setText("long-enough-2")
    press_ok(dialog)
    assert dialog.error_text == "the two passwords do not match"
    dialog.confirm_edit.setText("long-enough-1")
    press_ok(dialog)
    assert dialog.user is not None and dialog.user.username == "admin"
    assert not services.users.needs_first_admin()


def test_vault_wrong_password_shows_store_error(qtbot: QtBot, tmp_path: Path) -> None:
    vault = SecretsVault(tmp_path, "cryptfile")
    vault.unlock("the-right-password")
    vault.set("probe", "x")  # the file now exists with that password
    locked = SecretsVault(tmp_path, "cryptfile")  # a fresh, locked vault over that file
    dialog = VaultDialog(locked.unlock, creating=False)
    qtbot.addWidget(dialog)
    dialog.password_edit.setText("a-wrong-password")
    press_ok(dialog)
    assert dialog.error_text == "wrong vault password"
    assert not dialog.unlocked and not locked.is_unlocked
    dialog.password_edit.setText("the-right-password")
    press_ok(dialog)
    assert dialog.unlocked and locked.get("probe") == "x"


def test_vault_creation_short_password_shows_error(qtbot: QtBot, tmp_path: Path) -> None:
    vault = SecretsVault(tmp_path, "cryptfile")
    dialog = VaultDialog(vault.unlock, creating=True)
    qtbot.addWidget(dialog)
    assert dialog.confirm_edit is not None
    dialog.password_edit.setText("short")
    dialog.confirm_edit.setText("short")
    press_ok(dialog)
    assert dialog.error_text == "the vault password must have at least 8 characters"


def test_new_bot_unknown_param_shows_error_and_creates_nothing(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = NewBotDialog(services.bots, admin.principal)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("typo bot")
    dialog.text_mode.setChecked(True)  # the "edit as text" path: a typo is possible there
    dialog.params_edit.setText("fast=3 slwo=8")
    press_ok(dialog)
    assert "unknown parameter(s) slwo" in dialog.error_text
    assert dialog.bot is None
    assert services.bots.list() == []


def test_new_bot_valid_form_creates_bot(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    dialog = NewBotDialog(services.bots, admin.principal)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("fast one")
    dialog.param_form.editors["fast"].setValue(3)  # type: ignore[union-attr]
    dialog.param_form.editors["slow"].setValue(8)  # type: ignore[union-attr]
    dialog.source_edit.setText("synthetic:4")
    with qtbot.waitSignal(dialog.created):
        press_ok(dialog)
    [bot] = services.bots.list()
    assert dialog.bot == bot
    assert (bot.name, bot.params, bot.data_source) == (
        "fast one",
        {"fast": 3, "slow": 8},
        "synthetic:4",
    )


def test_parse_params_refuses_tokens_without_equals() -> None:
    assert parse_params(" fast=3,slow=8 ") == {"fast": "3", "slow": "8"}
    with pytest.raises(ValidationError, match="name=value"):
        parse_params("fast 3")
