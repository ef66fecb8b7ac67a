"""The Settings dialog saves what an admin changed (for the next start), refuses a bad
value with its reason, and is read-only for everyone else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from task_station import settings_file
from task_station.config import Settings
from task_station.domain.clock import SystemClock
from task_station.domain.errors import PermissionDeniedError
from task_station.domain.users import Role
from task_station.gui.settings_dialog import SettingsDialog
from task_station.persistence.database import Database, sqlite_url
from task_station.services.principal import Principal
from task_station.services.settings import SettingsService

ADMIN = Principal("1", "ada", Role.ADMIN)
VIEWER = Principal("2", "vic", Role.VIEWER)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with Database(sqlite_url(tmp_path / "station.db")) as db:
        db.upgrade()
        yield db


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database) -> SettingsService:
    monkeypatch.setenv("TASK_CONFIG_FILE", str(tmp_path / "settings.toml"))
    return SettingsService(Settings(data_dir=tmp_path), database.audit, SystemClock())


def test_an_admin_saves_changes_for_the_next_start(
    qtbot: QtBot, service: SettingsService, database: Database
) -> None:
    dialog = SettingsDialog(service, ADMIN)
    qtbot.addWidget(dialog)
    dialog.editors["api_port"].setText("9100")  # type: ignore[union-attr]
    dialog.editors["risk_max_drawdown"].setText("0.2")  # type: ignore[union-attr]
    dialog.editors["api_enabled"].setChecked(False)  # type: ignore[union-attr]
    assert dialog.changes() == {
        "api_port": "9100",
        "risk_max_drawdown": "0.2",
        "api_enabled": False,
    }
    assert dialog.submit()
    assert settings_file.load() == {
        "api_port": 9100,
        "risk_max_drawdown": "0.2",
        "api_enabled": False,
    }
    assert Settings().api_port == 9100
    (entry,) = [e for e in database.audit.list_recent() if e.action == "settings.update"]
    assert entry.actor == "ada" and "api_port=9100" in entry.detail


def test_a_bad_value_is_refused_and_nothing_saved(qtbot: QtBot, service: SettingsService) -> None:
    dialog = SettingsDialog(service, ADMIN)
    qtbot.addWidget(dialog)
    dialog.editors["api_port"].setText("eighty")  # type: ignore[union-attr]
    assert not dialog.submit()
    assert "whole number" in dialog.error_label.text()
    dialog.editors["api_port"].setText("99999")  # type: ignore[union-attr]
    assert not dialog.submit()
    assert "api_port" in dialog.error_label.text()
    assert settings_file.load() == {}


def test_viewers_see_settings_read_only(qtbot: QtBot, service: SettingsService) -> None:
    dialog = SettingsDialog(service, VIEWER)
    qtbot.addWidget(dialog)
    assert not any(editor.isEnabled() for editor in dialog.editors.values())
    with pytest.raises(PermissionDeniedError):
        service.update(VIEWER, {"api_port": 9100})
