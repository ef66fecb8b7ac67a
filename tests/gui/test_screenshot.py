"""The README screenshot: the main window with demo bots that have traded.

Saved to ``docs/screenshot.png`` only with ``TASK_UPDATE_SCREENSHOT=1``; otherwise the
same picture goes to ``tmp_path`` and is only checked, so the test always exercises a
realistic window.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from task_station.container import Container, build_container
from task_station.gui.main_window import MainWindow
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import make_bot, settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def station(settings_factory: Callable[..., Any], qloop: qasync.QEventLoop) -> Iterator[Container]:
    """Like conftest's, with a small pace so the bots are still running when grabbed."""
    container = build_container(settings_factory(demo_pace_seconds=0.002))
    yield container
    qloop.run_until_complete(container.aclose())


def distinct_colours(image: QImage, step: int = 16) -> int:
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


def test_main_window_screenshot_is_a_real_trading_view(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run, tmp_path: Path
) -> None:
    demo = [
        make_bot(services, admin, "BTC trend 5/20", seed=21, fast=5, slow=20),
        make_bot(services, admin, "BTC scalper 3/8", seed=8, fast=3, slow=8),
        make_bot(services, admin, "BTC swing 10/30", seed=42, fast=10, slow=30),
    ]
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, admin.principal, "http://127.0.0.1:8765", settings)
    qtbot.addWidget(window)
    window.resize(1440, 900)
    window.show()

    async def scenario() -> None:
        for bot in demo:
            await services.bots.start(admin.principal, bot.id)
        enough = lambda: all(len(services.bots.bars(b.id)) >= 400 for b in demo)  # noqa: E731
        await until(enough, what="400 bars for every demo bot")
        await services.bots.stop(admin.principal, demo[2].id)
        window.bots_dock.select_bot(demo[0].id)
        await settle(0.5)
        window.chart_panel.chart.flush()
        await settle(0.1)

    run(scenario())
    assert window.chart_panel.bot_id == demo[0].id
    assert window.chart_panel.chart.marker_count > 0
    image = window.grab().toImage()
    update = os.environ.get("TASK_UPDATE_SCREENSHOT") == "1"
    target = DOCS / "screenshot.png" if update else tmp_path / "screenshot.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(target))
    saved = QImage(str(target))
    assert (saved.width(), saved.height()) == (1440, 900)
    assert distinct_colours(saved) > 20, "the screenshot should not be a flat colour"
