"""``task-station --selftest``: start the real station offscreen and check it answers.

Part of the process entry (``cli``), so it may build the container: on a throw-away
data directory (SQLite, an encrypted-file vault with a random password), it migrates
the database, starts the station, serves the API on a free loopback port, asks
``/health/ready`` and ``/metrics`` over real HTTP, opens the main window with Qt's
offscreen platform, and prints one JSON report. Exit status 0 means all of it worked;
the packaged bundles run it to prove they are complete.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from task_station import __version__
from task_station.config import Settings


def selftest_settings(base: Settings, data_dir: Path) -> Settings:
    """``base`` moved onto ``data_dir``: embedded database, throw-away vault, free port."""
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": None,
            "keyring_backend": "cryptfile",
            "keyring_password": secrets.token_hex(16),
            "bcrypt_rounds": 4,
            "api_enabled": True,
            "api_host": "127.0.0.1",
            "api_port": 0,
        }
    )


def run_selftest(base: Settings) -> int:
    """Run the self-test; 0 when the station started, answered and showed its window."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no screen needed, and none touched
    for noisy in ("alembic", "httpx"):  # the report is the output; their steps are not
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="task-station-selftest-"))
    try:
        report = _run(selftest_settings(base, data_dir))
    except Exception as exc:
        print(json.dumps({"selftest": "failed", "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(report))
    return 0 if report["selftest"] == "ok" else 1


def _run(settings: Settings) -> dict[str, object]:
    from task_station.gui.qt_loop import create_application, run_until_closed

    _app, loop = create_application(sys.argv[:1])
    return run_until_closed(loop, _session(settings))


async def _session(settings: Settings) -> dict[str, object]:
    import httpx

    from task_station.api.app import create_app
    from task_station.api.server import ApiServer
    from task_station.container import build_container
    from task_station.gui.selftest import open_main_window
    from task_station.services.principal import Principal

    container = build_container(settings)
    server = ApiServer(create_app(container.services), settings.api_host, settings.api_port)
    try:
        await container.start()
        await server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            ready = await http.get("/health/ready")
            metrics = await http.get("/metrics")
        user = container.services.users.create(
            "selftest", secrets.token_urlsafe(16), "admin", actor=None
        )
        principal = Principal(user.id, user.username, user.role)
        window = await open_main_window(
            container.services, principal, server.url, settings.data_dir / "gui.ini"
        )
    finally:
        await server.stop()
        await container.aclose()
    ok = ready.status_code == 200 and metrics.status_code == 200
    ok = ok and "task_station_orders_submitted" in metrics.text
    return {
        "selftest": "ok" if ok else "failed",
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "health": {"status_code": ready.status_code, **ready.json()},
        "metrics_status_code": metrics.status_code,
        "window": window,
    }
