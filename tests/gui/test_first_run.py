"""The first-run wizard: each page refuses a bad choice with a clear message, and the
choices it ends with are what the start-up applies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from task_station import settings_file
from task_station.config import Settings
from task_station.gui.first_run import FirstRunWizard
from task_station.services.setup import save_choices


def next_page(wizard: QWizard) -> int:
    wizard.next()
    return wizard.currentId()


def test_a_full_walk_through_with_an_encrypted_vault(qtbot: QtBot) -> None:
    wizard = FirstRunWizard(os_keyring=False)
    qtbot.addWidget(wizard)
    wizard.show()
    assert next_page(wizard) == 1  # welcome -> storage (SQLite by default)
    assert wizard.storage.database_url() is None
    assert next_page(wizard) == 2
    secrets = wizard.secrets
    assert not secrets.keyring.isEnabled() and secrets.encrypted.isChecked()
    secrets.password.setText("vault-password-1")
    secrets.confirm.setText("vault-password-2")
    assert next_page(wizard) == 2  # refused
    assert "differ" in secrets.error.text() and secrets.error.isVisibleTo(wizard)
    secrets.confirm.setText("vault-password-1")
    assert next_page(wizard) == 3
    admin = wizard.admin
    admin.password.setText("short")
    admin.confirm.setText("short")
    assert next_page(wizard) == 3
    assert "at least" in admin.error.text()
    admin.username.setText("Ada")
    admin.password.setText("a-long-admin-password")
    admin.confirm.setText("a-long-admin-password")
    assert next_page(wizard) == 4
    wizard.mode.demo.setChecked(False)
    choices = wizard.choices()
    assert choices.admin_username == "Ada" and choices.admin_password == "a-long-admin-password"
    assert choices.keyring_backend == "cryptfile" and choices.vault_password == "vault-password-1"
    assert choices.database_url is None and choices.demo_bots is False


def test_an_unreachable_database_is_refused(qtbot: QtBot) -> None:
    wizard = FirstRunWizard(os_keyring=True)
    qtbot.addWidget(wizard)
    wizard.show()
    next_page(wizard)
    storage = wizard.storage
    storage.postgres.setChecked(True)
    storage.url.setText("postgresql://postgres@127.0.0.1:1/nowhere")
    assert next_page(wizard) == 1
    assert "cannot use that database" in storage.error.text()


@pytest.mark.postgres
def test_a_reachable_postgres_is_accepted(qtbot: QtBot) -> None:
    wizard = FirstRunWizard(os_keyring=True)
    qtbot.addWidget(wizard)
    wizard.show()
    next_page(wizard)
    wizard.storage.postgres.setChecked(True)
    wizard.storage.url.setText("postgresql://postgres@127.0.0.1:5432/test")
    assert wizard.storage.test_connection()
    assert "postgresql" in wizard.storage.result.text()
    assert next_page(wizard) == 2
    assert wizard.storage.database_url() == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_saved_choices_are_the_next_start_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    monkeypatch.setenv("TASK_CONFIG_FILE", str(path))
    monkeypatch.delenv("TASK_DATABASE_URL", raising=False)
    monkeypatch.delenv("TASK_KEYRING_BACKEND", raising=False)
    from task_station.services.setup import FirstRunChoices

    save_choices(
        FirstRunChoices("ada", "a-long-admin-password", keyring_backend="cryptfile",
                        vault_password="vault-password-1")
    )  # fmt: skip
    text = path.read_text()
    assert "a-long-admin-password" not in text and "vault-password-1" not in text
    assert settings_file.load() == {"keyring_backend": "cryptfile"}
    assert Settings(data_dir=tmp_path).keyring_backend == "cryptfile"
    assert os.environ["TASK_CONFIG_FILE"] == str(path)
