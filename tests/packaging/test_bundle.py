"""The Linux desktop bundle: built with PyInstaller from ``packaging/``, then started
with ``--selftest`` (the station offscreen: database, API on loopback, main window).

Slow (a few minutes: PyInstaller analyses the whole stack), so marked ``slow``; CI runs
it with the rest (``-m "not slow"`` leaves it out locally). Everything it writes,
PyInstaller's cache included, stays in the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from task_station import __version__
from tests.packaging.conftest import PACKAGING, require

pytestmark = pytest.mark.slow

BUILD_TIMEOUT = 1200


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle")
def test_linux_bundle_builds_and_passes_its_selftest(tmp_path: Path) -> None:
    require("PyInstaller")
    require("PIL")
    env = {**os.environ, "TMPDIR": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    started = time.perf_counter()
    build = subprocess.run(
        [sys.executable, str(PACKAGING / "build.py"),
         "--dist", str(tmp_path / "dist"), "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=env,
    )  # fmt: skip
    built = time.perf_counter() - started
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    app = tmp_path / "dist" / "task-station"
    program = app / "task-station"
    assert program.is_file() and os.access(program, os.X_OK)
    assert (app / "share" / "applications" / "task-station.desktop").is_file()
    assert (app / "share" / "icons" / "hicolor" / "256x256" / "apps" / "task-station.png").is_file()

    version = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                             timeout=120, env=env)  # fmt: skip
    assert version.stdout.strip() == f"task-station {__version__}"
    started = time.perf_counter()
    selftest = subprocess.run([str(program), "--selftest"], capture_output=True, text=True,
                              timeout=300, env=env)  # fmt: skip
    ran = time.perf_counter() - started
    assert selftest.returncode == 0, selftest.stdout[-4000:] + selftest.stderr[-4000:]
    report = json.loads(selftest.stdout.strip().splitlines()[-1])
    assert report["selftest"] == "ok" and report["frozen"] is True
    assert report["health"]["components"]["database"]["status"] == "ok"
    assert {"Bots", "Health", "Logs"} <= set(report["window"]["docks"])
    size = sum(f.stat().st_size for f in app.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"bundle: built in {built:.0f} s, {size / 2**20:.0f} MiB; selftest {ran:.1f} s")
