"""The station's log file: JSON lines, rotated, secrets redacted; and reading it back."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from task_station.domain.errors import PermissionDeniedError, ValidationError
from task_station.domain.users import Role
from task_station.logging_setup import configure_logging
from task_station.services.logs import LogService
from task_station.services.principal import Principal

SECRET = "hunter2-Sup3rSecret"
ADMIN = Principal("u1", "admin", Role.ADMIN)


@pytest.fixture
def station_logging() -> Iterator[None]:
    """Undo ``configure_logging`` afterwards: pytest's own handlers stay as they were."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_task_station", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_log_file_is_json_lines_with_secrets_redacted(
    tmp_path: Path, station_logging: None
) -> None:
    log_file = tmp_path / "logs" / "station.jsonl"
    configure_logging("INFO", log_file)
    log = logging.getLogger("task_station.test")
    log.info("login password=%s for %s", SECRET, "alice", extra={"bot_id": "b-1"})
    log.warning("calling postgresql://station:%s@db/station", SECRET)
    try:
        raise RuntimeError(f"venue said: api_key={SECRET}")
    except RuntimeError:
        log.exception("order failed")
    log.debug("not at INFO")
    text = log_file.read_text(encoding="utf-8")
    assert SECRET not in text
    records = _records(log_file)
    assert [r["level"] for r in records] == ["INFO", "WARNING", "ERROR"]
    assert records[0]["message"] == "login password=*** for alice"
    assert records[0]["logger"] == "task_station.test" and records[0]["bot_id"] == "b-1"
    assert str(records[0]["time"]).endswith("+00:00")
    assert records[1]["message"] == "calling postgresql://station:***@db/station"
    assert "RuntimeError: venue said: api_key=***" in str(records[2]["exception"])


def test_log_file_rotates_and_keeps_the_configured_backups(
    tmp_path: Path, station_logging: None
) -> None:
    log_file = tmp_path / "station.jsonl"
    configure_logging("INFO", log_file, max_bytes=2000, backups=2)
    log = logging.getLogger("task_station.test.rotation")
    for i in range(100):
        log.info("line %03d %s", i, "x" * 40)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["station.jsonl", "station.jsonl.1", "station.jsonl.2"]
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    assert _records(log_file)[-1]["message"].startswith("line 099")  # type: ignore[union-attr]


def test_reconfiguring_replaces_the_station_handlers(tmp_path: Path, station_logging: None) -> None:
    configure_logging("INFO", tmp_path / "a.jsonl")
    configure_logging("WARNING", tmp_path / "b.jsonl")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_task_station", False)]
    assert len(ours) == 2  # the console and b.jsonl
    logging.getLogger("task_station.test").warning("only in b")
    assert (tmp_path / "a.jsonl").read_text() == ""
    assert "only in b" in (tmp_path / "b.jsonl").read_text()


def _write(path: Path, *entries: tuple[str, str, str]) -> None:
    with path.open("a", encoding="utf-8") as out:
        for i, (level, logger, message) in enumerate(entries):
            out.write(json.dumps({"time": f"2026-01-01T00:00:{i:02d}+00:00", "level": level,
                                  "logger": logger, "message": message}) + "\n")  # fmt: skip


def test_tail_filters_by_level_and_text_newest_last(tmp_path: Path) -> None:
    path = tmp_path / "station.jsonl"
    _write(path, ("INFO", "task_station.bots", "bot a started"),
           ("WARNING", "task_station.risk", "bot a paused"),
           ("ERROR", "task_station.venues", "binance refused"))  # fmt: skip
    with path.open("a") as out:
        out.write("{not json\n")  # a line cut by a crash is skipped
    logs = LogService(path)
    assert [e.message for e in logs.tail(ADMIN)] == [
        "bot a started", "bot a paused", "binance refused"
    ]  # fmt: skip
    assert [e.level for e in logs.tail(ADMIN, level="warning")] == ["WARNING", "ERROR"]
    assert [e.message for e in logs.tail(ADMIN, search="BOT A")] == [
        "bot a started", "bot a paused"
    ]  # fmt: skip
    assert [e.message for e in logs.tail(ADMIN, search="risk")] == ["bot a paused"]  # logger
    assert [e.message for e in logs.tail(ADMIN, limit=1)] == ["binance refused"]


def test_tail_reads_rotated_files_after_the_current_one(tmp_path: Path) -> None:
    path = tmp_path / "station.jsonl"
    _write(tmp_path / "station.jsonl.2", ("INFO", "x", "oldest"))
    _write(tmp_path / "station.jsonl.1", ("INFO", "x", "older"))
    _write(path, ("INFO", "x", "newest"))
    assert [e.message for e in LogService(path).tail(ADMIN)] == ["oldest", "older", "newest"]
    assert [e.message for e in LogService(path).tail(ADMIN, limit=2)] == ["older", "newest"]


def test_tail_of_a_large_file_reads_lines_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "station.jsonl"
    _write(path, *[("INFO", "x", f"{i:05d} " + "y" * 200) for i in range(1000)])
    found = LogService(path).tail(ADMIN, limit=1000)
    assert [e.message[:5] for e in found] == [f"{i:05d}" for i in range(1000)]


def test_tail_is_for_admins_and_checks_its_arguments(tmp_path: Path) -> None:
    logs = LogService(tmp_path / "missing.jsonl")
    assert logs.tail(ADMIN) == []
    assert LogService(None).tail() == []
    with pytest.raises(PermissionDeniedError):
        logs.tail(Principal("u2", "bob", Role.TRADER))
    with pytest.raises(ValidationError, match="unknown log level"):
        logs.tail(ADMIN, level="LOUD")
    with pytest.raises(ValidationError, match="limit"):
        logs.tail(ADMIN, limit=0)
