"""The settings file: read below the environment, written only when valid, never with
a secret in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from task_station import settings_file
from task_station.config import Settings
from task_station.domain.errors import ConfigurationError, ValidationError


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "settings.toml"
    monkeypatch.setenv("TASK_CONFIG_FILE", str(path))
    for name in ("TASK_API_PORT", "TASK_LOG_LEVEL", "TASK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_saved_settings_are_read_back_below_the_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file.save({"api_port": 9001, "log_level": "DEBUG", "database_url": "sqlite:///x.db"})
    assert "api_port = 9001" in config.read_text()
    loaded = Settings()
    assert loaded.api_port == 9001 and loaded.log_level == "DEBUG"
    monkeypatch.setenv("TASK_API_PORT", "9002")
    assert Settings().api_port == 9002  # the environment wins
    assert Settings(api_port=9003).api_port == 9003  # and arguments win over both
    settings_file.save({"log_level": None})
    assert "log_level" not in settings_file.load()
    assert Settings().log_level == "INFO"


def test_an_invalid_value_changes_nothing(config: Path) -> None:
    settings_file.save({"api_port": 9001})
    before = config.read_text()
    with pytest.raises(ValidationError, match="api_port"):
        settings_file.save({"api_port": 70000})
    with pytest.raises(ValidationError, match="unknown setting"):
        settings_file.save({"colour": "pink"})
    assert config.read_text() == before


def test_secrets_are_never_written(config: Path) -> None:
    with pytest.raises(ValidationError, match="secret"):
        settings_file.save({"keyring_password": "hunter2-hunter2"})
    assert not config.exists()


def test_a_broken_file_is_named(config: Path) -> None:
    config.parent.mkdir(parents=True)
    config.write_text("api_port = [unclosed\n")
    with pytest.raises(ConfigurationError, match=str(config)):
        settings_file.load()
