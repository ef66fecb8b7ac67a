"""``task-station audit verify|list`` on a real station directory."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from keyrings.cryptfile.cryptfile import CryptFileKeyring
from sqlalchemy import delete, update

from task_station.cli import main
from task_station.config import Settings
from task_station.domain.audit import Face, current_face
from task_station.persistence.database import Database
from task_station.persistence.models import AuditEventRow


@pytest.fixture(autouse=True)
def station_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)
    env = {"DATA_DIR": str(tmp_path / "station"), "KEYRING_BACKEND": "cryptfile",
           "KEYRING_PASSWORD": "test-vault-password", "BCRYPT_ROUNDS": "4"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(f"TASK_{name}", value)
    root = logging.getLogger()
    level = root.level
    yield Settings()
    for handler in [h for h in root.handlers if getattr(h, "_task_station", False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)  # the CLI set it; a later test's captured records must not grow


@pytest.fixture
def database(station_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A station with a few audited actions, made through the CLI itself."""
    for name in ("ann", "bob"):
        monkeypatch.setattr("sys.stdin", _Lines("first-admin-pw-1\n"))
        args = ["user", "create", "--username", name, "--role", "admin", "--password-stdin"]
        main(args)  # the second one is refused: users exist
    db = Database(station_env.resolved_database_url)
    try:
        for i in range(3):
            db.audit.record(datetime.now(UTC), "ann", f"bot.step{i}", f"bot-{i}", f"step {i}")
        yield db
    finally:
        db.dispose()


class _Lines:
    def __init__(self, text: str) -> None:
        self._lines = iter(text.splitlines(keepends=True))

    def readline(self) -> str:
        return next(self._lines, "")


def _ids(db: Database) -> list[int]:
    return [event.id for event in db.audit.events()]


def test_verify_passes_on_an_untouched_trail(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify"]) == 0
    assert "intact: 4 event(s)" in capsys.readouterr().out
    assert current_face() is Face.SYSTEM  # the CLI's face ended with the command


def test_cli_actions_are_audited_as_the_cli(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "list", "--action", "user.", "--json"]) == 0
    (created,) = json.loads(capsys.readouterr().out)
    assert created["actor"] == "ann" and created["face"] == "cli"
    assert json.loads(created["after"])["role"] == "admin"


@pytest.mark.parametrize("tamper", ["change", "remove", "reorder"])
def test_verify_fails_and_names_the_first_bad_event(
    tamper: str, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _ids(database)
    with database.engine.begin() as connection:
        if tamper == "change":
            statement = update(AuditEventRow).where(AuditEventRow.id == ids[2])
            connection.execute(statement.values(detail="nothing to see"))
            bad = ids[2]
        elif tamper == "remove":
            connection.execute(delete(AuditEventRow).where(AuditEventRow.id == ids[1]))
            bad = ids[2]
        else:  # move the last event to the front: a new, smaller id
            connection.execute(
                update(AuditEventRow).where(AuditEventRow.id == ids[-1]).values(id=0)
            )
            bad = 0
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN" in err and f"event {bad} " in err
