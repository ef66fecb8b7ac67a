"""Fixtures shared by every test package: real components, no mocks."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never read the developer's own settings file (see task_station.settings_file);
# a test that wants one points TASK_CONFIG_FILE at its own.
os.environ["TASK_CONFIG_FILE"] = str(
    Path(tempfile.gettempdir()) / f"task-station-tests-{os.getpid()}" / "no-settings.toml"
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The team's real market data; skipped with a reason where absent (never in CI)."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the shared data directory {SHARED_DATA} is missing")
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def settings_factory(tmp_path: Path) -> Iterator[object]:
    """Build ``Settings`` for a throw-away station in ``tmp_path`` (SQLite, encrypted-file
    vault, fast bcrypt, fast demo pace)."""
    from task_station.config import Settings

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": tmp_path / "station",
            "keyring_backend": "cryptfile",
            "keyring_password": "test-vault-password",
            "bcrypt_rounds": 4,
            "demo_pace_seconds": 0.0,
            "api_port": 0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    yield make
