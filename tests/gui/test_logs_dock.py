"""The Logs dock reads the station's real log file: level filter, search, detail."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from task_station.domain.users import Role
from task_station.gui.docks.logs import ALL_LEVELS, LogsDock
from task_station.logging_setup import configure_logging
from task_station.services.bundle import Services
from task_station.services.logs import LogService
from task_station.services.principal import Principal
from task_station.services.users import LoginResult

from .helpers import until

Run = Callable[[Coroutine[Any, Any, Any]], Any]
SECRET = "Pl4nted-S3cret-value"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The station's logging writing to a real file, undone afterwards."""
    root = logging.getLogger()
    level = root.level
    path = tmp_path / "logs" / "station.jsonl"
    configure_logging("INFO", path)
    log = logging.getLogger("task_station.bots")
    log.info("bot alpha started")
    log.warning("bot alpha paused: password=%s", SECRET)
    try:
        raise ValueError("venue refused the order")
    except ValueError:
        logging.getLogger("task_station.venues").exception("order failed")
    yield path
    for handler in list(root.handlers):
        if getattr(handler, "_task_station", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _messages(dock: LogsDock) -> list[str]:
    return [dock.cell_text(row, "Message") for row in range(dock.model.rowCount())]


def test_logs_dock_filters_searches_and_shows_tracebacks(
    qtbot: QtBot, services: Services, admin: LoginResult, log_file: Path, run: Run
) -> None:
    dock = LogsDock(LogService(log_file), services.events, admin.principal, poll_ms=100)
    qtbot.addWidget(dock)
    dock.show()
    assert _messages(dock) == [
        "bot alpha started", "bot alpha paused: password=***", "order failed"
    ]  # fmt: skip
    assert all(SECRET not in text for text in _messages(dock))
    dock.level.setCurrentText("ERROR")
    assert _messages(dock) == ["order failed"]
    dock.view.clicked.emit(dock.model.index(0, 0))
    assert "ValueError: venue refused the order" in dock.detail.toPlainText()
    dock.level.setCurrentText(ALL_LEVELS)
    dock.search.setText("ALPHA")

    async def follow() -> None:
        await until(lambda: len(_messages(dock)) == 2, what="the search")
        logging.getLogger("task_station.bots").info("bot alpha finished")
        await until(lambda: len(_messages(dock)) == 3, what="the new line, polled")

    run(follow())
    assert _messages(dock)[-1] == "bot alpha finished"
    assert dock.status.text() == "3 entries"


def test_logs_dock_tells_a_trader_it_is_for_admins(
    qtbot: QtBot, services: Services, log_file: Path
) -> None:
    trader = Principal("u2", "bob", Role.TRADER)
    dock = LogsDock(LogService(log_file), services.events, trader)
    qtbot.addWidget(dock)
    assert dock.model.rowCount() == 0
    assert "admins only" in dock.status.text()
