"""``task-station tasks list|show|create|enable|disable|delete|run|runs`` on a real
station directory (SQLite file, encrypted-file vault with a cheap key derivation)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyrings.cryptfile.cryptfile import CryptFileKeyring

from task_station.cli import main

SECRET = "cli-webhook-secret-0123"
SPEC = {
    "name": "nightly",
    "triggers": [{"kind": "cron", "config": {"expression": "0 2 * * *"}}],
    "actions": [{"kind": "notify", "config": {"title": "nightly ran", "body": "run {{run_id}}"}}],
    "missed_runs": "run_once",
    "grace_seconds": 3600,
}


@pytest.fixture(autouse=True)
def station_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)
    env = {"DATA_DIR": str(tmp_path / "station"), "KEYRING_BACKEND": "cryptfile",
           "KEYRING_PASSWORD": "test-vault-password", "BCRYPT_ROUNDS": "4"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(f"TASK_{name}", value)
    monkeypatch.setattr("sys.stdin", io.StringIO("admin-password-123\n"))
    assert (
        main(["user", "create", "--username", "admin", "--role", "admin", "--password-stdin"]) == 0
    )
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_task_station", False)]:
        root.removeHandler(handler)
        handler.close()


def out(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out if code == 0 else captured.err


def test_tasks_from_create_to_delete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "nightly.json"
    spec.write_text(json.dumps(SPEC), encoding="utf-8")
    created = json.loads(out(capsys, "tasks", "--user", "admin", "create", str(spec)))
    assert created["name"] == "nightly" and created["owner"] == "admin"
    assert created["missed_runs"] == "run_once" and created["grace_seconds"] == 3600
    table = out(capsys, "tasks", "list")
    assert "nightly" in table and "cron 0 2 * * *" in table and "notify" in table
    assert "nightly: disabled" in out(capsys, "tasks", "--user", "admin", "disable", "nightly")
    assert json.loads(out(capsys, "tasks", "show", created["id"]))["enabled"] is False

    run = json.loads(out(capsys, "tasks", "--user", "admin", "run", "nightly"))
    assert run["status"] == "succeeded" and run["cause"] == "manual:admin"
    assert run["outcomes"][0]["detail"] == "notified: nightly ran"
    history = out(capsys, "tasks", "runs", "nightly")
    assert "succeeded" in history and "manual:admin" in history
    runs = json.loads(out(capsys, "tasks", "runs", "--json"))
    assert [r["id"] for r in runs] == [run["id"]] and runs[0]["logs"]

    assert "deleted nightly" in out(capsys, "tasks", "--user", "admin", "delete", "nightly")
    assert json.loads(out(capsys, "tasks", "list", "--json")) == []


def test_webhook_secret_from_stdin_and_errors_the_trader_can_act_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = {**SPEC, "name": "alerts", "triggers": [{"kind": "webhook", "config": {}}]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(hook) + "\n" + SECRET + "\n"))
    printed = out(capsys, "tasks", "--user", "admin", "create", "-", "--secret-stdin")
    assert SECRET not in printed
    assert json.loads(printed)["triggers"][0]["hook_id"]
    assert "name the user who acts" in out(capsys, "tasks", "enable", "alerts", code=2)
    assert "no task with id or name 'nope'" in out(capsys, "tasks", "show", "nope", code=2)
    bad = {**SPEC, "name": "bad", "triggers": [{"kind": "cron", "config": {"expression": "x"}}]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(bad) + "\n"))
    error = out(capsys, "tasks", "--user", "admin", "create", "-", code=2)
    assert "trigger 1 (cron): expression must be 5 crontab fields" in error
