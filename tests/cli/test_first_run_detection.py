"""When the GUI offers the first-run wizard: a new data folder, no settings file, no
database configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from task_station.cli import _is_first_run
from task_station.config import Settings


def test_first_run_only_on_a_new_station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "settings.toml"
    monkeypatch.setenv("TASK_CONFIG_FILE", str(config))
    monkeypatch.delenv("TASK_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    assert _is_first_run(Settings(data_dir=data))
    assert not _is_first_run(Settings(data_dir=data, database_url="sqlite:///elsewhere.db"))
    data.mkdir()
    (data / "task-station.db").touch()
    assert not _is_first_run(Settings(data_dir=data))  # an existing station
    (data / "task-station.db").unlink()
    config.write_text('log_level = "INFO"\n')
    assert not _is_first_run(Settings(data_dir=data))  # set up before
