"""The Jobs view and the notification feed follow the real services and the bus; the
tray shows the notifications its desktop rule accepts; the main window registers both
docks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from keyrings.cryptfile.cryptfile import CryptFileKeyring
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from task_station.gui.docks.jobs import JobsDock
from task_station.gui.docks.notifications import NotificationsDock
from task_station.gui.main_window import MainWindow
from task_station.jobs.queue import JobContext
from task_station.services.bundle import Services
from task_station.services.principal import SYSTEM
from task_station.services.users import LoginResult

from .helpers import settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(autouse=True)
def cheap_vault_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vault's Argon2 at a test cost (each read or write takes seconds at the real one)."""
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)


def test_jobs_dock_shows_progress_and_cancels_running_job(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run
) -> None:
    halfway = asyncio.Event()

    async def report(ctx: JobContext) -> None:
        ctx.progress(3, 4, "writing")
        halfway.set()
        await asyncio.Event().wait()

    services.jobs.register("report.monthly", report)
    dock = JobsDock(services.jobs, services.events, admin.principal)
    qtbot.addWidget(dock)

    async def scenario() -> None:
        services.jobs.start()
        job = services.jobs.enqueue("report.monthly", title="Monthly report")
        await asyncio.wait_for(halfway.wait(), 10)
        await until(lambda: dock.model.rowCount() == 1, 10, "the job in the dock")
        await settle(0.2)
        assert dock.cell_text(0, "Job") == "Monthly report"
        assert dock.cell_text(0, "State") == "running"
        assert dock.cell_text(0, "Progress") == "75% writing"
        assert dock.select_job(job.id)
        dock.cancel_selected()
        await until(lambda: dock.cell_text(0, "State") == "cancelled"
                    if dock.model.rowCount() else False, 10, "the cancel")  # fmt: skip

    dock.filter.setCurrentIndex(1)  # all jobs: the cancelled one stays in sight
    run(scenario())
    assert "cancelled" in dock.status.text()


def test_notifications_dock_and_tray_follow_notify(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, admin.principal, None, settings)
    qtbot.addWidget(window)
    assert isinstance(window.jobs_dock, JobsDock)
    dock = window.notifications_dock
    assert isinstance(dock, NotificationsDock)
    services.notifications.set_channel(SYSTEM, "tray", type="desktop", min_severity="warning")

    async def scenario() -> None:
        await services.notifications.notify("bot.fill", "Filled", "0.1 BTC", severity="info")
        await services.notifications.notify(
            "bot.stopped", "Bot grid-1 stopped", "daily loss limit", severity="warning"
        )
        await until(lambda: dock.model.rowCount() == 2, 10, "the feed")

    run(scenario())
    assert window.tray.last_message == ("Bot grid-1 stopped", "daily loss limit")
    assert dock.cell_text(0, "Title") == "Bot grid-1 stopped"
    assert dock.status.text() == "2 unread"
    dock.mark_all_read()
    assert dock.status.text() == "All read"
    assert services.notifications.unread_count() == 0
