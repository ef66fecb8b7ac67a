"""``task-station serve``: API, bots and automation without Qt, bound to loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

# Runs the real command line, then reports whether Qt was ever imported.
_SERVE = (
    "import sys\n"
    "from task_station.cli import main\n"
    "code = main(['serve', '--port', '0'])\n"
    "print('QT_LOADED=' + str(any(m.split('.')[0] == 'PySide6' for m in sys.modules)), flush=True)\n"
    "sys.exit(code)\n"
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TASK_DATA_DIR=str(tmp_path / "station"),
        TASK_KEYRING_BACKEND="cryptfile",
        TASK_KEYRING_PASSWORD="test-vault-password",
        TASK_BCRYPT_ROUNDS="4",
        TASK_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def test_serve_runs_headless_without_importing_qt(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("TASK Station API on "):
                url = line.split(" on ", 1)[1].strip()
        assert url is not None and url.startswith("http://127.0.0.1:"), process.stderr
        health = httpx.get(f"{url}/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(f"{url}/bots", timeout=10).status_code == 401
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "QT_LOADED=False" in out


def test_serve_refuses_a_non_loopback_host_without_the_allow_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "task_station.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "TASK_API_ALLOW_REMOTE" in result.stderr
