"""The API and the services must load on a headless server without Qt installed."""

from __future__ import annotations

import subprocess
import sys

_PROBE = (
    "import task_station.api.app, task_station.services.bundle, task_station.container, sys; "
    "assert 'PySide6' not in sys.modules, 'PySide6 was imported'"
)


def test_api_import_without_qt_succeeds() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
