"""``task-station --version`` and ``--selftest`` from the source tree (the bundle test
runs the same self-test on the frozen build)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from task_station import __version__


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "task_station", *args],
        capture_output=True, text=True, timeout=240, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_version_prints_the_package_version() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"task-station {__version__}"


def test_selftest_starts_the_station_offscreen_and_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"  # the user's own data and settings must stay untouched
    env = {"TASK_DATA_DIR": str(home / "data"), "HOME": str(home), "TMPDIR": str(tmp_path),
           "XDG_CONFIG_HOME": str(home / ".config"), "QT_QPA_PLATFORM": "xcb"}  # fmt: skip
    done = run("--selftest", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["selftest"] == "ok" and report["frozen"] is False
    assert report["health"]["status_code"] == 200 and report["health"]["ready"] is True
    assert report["health"]["components"]["database"]["status"] == "ok"
    assert {"Bots", "Orders", "Health", "Logs"} <= set(report["window"]["docks"])
    assert not home.exists(), "the self-test wrote outside its throw-away directory"
    assert not any(p.name.startswith("task-station-selftest-") for p in tmp_path.iterdir())
