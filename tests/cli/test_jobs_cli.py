"""``task-station jobs list|show|cancel`` and ``task-station notify test CHANNEL`` on a
real station directory (SQLite file, encrypted-file vault), with a loopback webhook."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from keyrings.cryptfile.cryptfile import CryptFileKeyring

from task_station.cli import main
from task_station.config import Settings
from task_station.container import build_container
from task_station.services.principal import SYSTEM

HOOK_TOKEN = "cli-hook-token-5be1c0de"


@pytest.fixture(autouse=True)
def station_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A station directory in the environment, a cheap vault KDF, and the CLI's log
    handlers removed afterwards (they hold the captured stderr)."""
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)
    env = {"DATA_DIR": str(tmp_path / "station"), "KEYRING_BACKEND": "cryptfile",
           "KEYRING_PASSWORD": "test-vault-password", "BCRYPT_ROUNDS": "4"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(f"TASK_{name}", value)
    yield Settings()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_task_station", False)]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback webhook receiver: its URL and the bodies it got."""
    received: list[bytes] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:  # the path holds the token
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook/{HOOK_TOKEN}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def _configure(settings: Settings, url: str) -> str:
    """A webhook channel and a job queued for later; returns the job's id."""
    container = build_container(settings)
    try:
        services = container.services
        services.notifications.set_channel(SYSTEM, "ops", type="webhook", secret={"url": url})
        return services.jobs.enqueue("report.daily", title="Daily report", delay=3600).id
    finally:
        await container.aclose()


def test_notify_test_and_jobs_list_show_cancel(
    station_env: Settings,
    webhook: tuple[str, list[bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, received = webhook
    later_id = asyncio.run(_configure(station_env, url))

    assert main(["notify", "test", "ops", "--timeout", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sent a test message through ops (job ")
    [body] = received
    assert json.loads(body)["title"] == "Test notification from TASK Station"

    assert main(["jobs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted((j["kind"], j["state"]) for j in listed) == [
        ("notify.deliver", "succeeded"),
        ("report.daily", "queued"),
    ]
    assert main(["jobs", "list", "--state", "active"]) == 0
    table = capsys.readouterr().out
    assert "report.daily" in table and "notify.deliver" not in table and "1 job(s)" in table

    assert main(["jobs", "show", later_id]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Daily report"
    assert main(["jobs", "cancel", later_id]) == 0
    assert capsys.readouterr().out.strip() == f"job {later_id} is cancelled"
    assert main(["jobs", "cancel", later_id]) == 2
    captured = capsys.readouterr()
    assert "already ended: it is cancelled" in captured.err
    assert HOOK_TOKEN not in captured.out + captured.err + out + table
