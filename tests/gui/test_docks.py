"""The docks and the chart follow the real services while a real bot runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from task_station.domain.bots import BotStatus
from task_station.domain.events import BotStatusChanged, PortfolioChanged
from task_station.gui.bot_chart import BotChartPanel
from task_station.gui.docks import BotsDock, OrdersDock, PortfolioDock
from task_station.gui.formatting import fmt_money
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import make_bot, settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]


def test_bot_run_all_widgets_follow_services(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run
) -> None:
    bot = make_bot(services, admin, "trend", seed=11)  # create publishes no event: see report
    bots = BotsDock(services.bots, services.portfolio, services.events, admin.principal)
    orders = OrdersDock(services.orders, services.bots, services.events)
    books = PortfolioDock(services.portfolio, services.events)
    panel = BotChartPanel(services.bots, services.orders, services.events)
    for widget in (bots, orders, books, panel):
        qtbot.addWidget(widget)
    bots.bot_selected.connect(panel.show_bot)

    async def scenario() -> None:
        assert bots.model.rowCount() == 1
        assert bots.select_bot(bot.id)
        assert panel.bot_id == bot.id
        assert bots.cell_text(0, "Status") == "created"
        assert bots.start_button.isEnabled() and not bots.stop_button.isEnabled()
        qtbot.mouseClick(bots.start_button, Qt.MouseButton.LeftButton)
        await until(lambda: bots.cell_text(0, "Status") == "running", what="status running")
        assert bots.stop_button.isEnabled()
        await until(lambda: bots.cell_text(0, "Status") == "finished", what="status finished")
        await settle()

    run(scenario())

    assert services.bots.get(bot.id).status is BotStatus.FINISHED
    order_list = services.orders.list()
    assert order_list, "the bot should have traded"
    assert orders.model.rowCount() == len(order_list)
    assert orders.cell_text(0, "Status") == order_list[0].status.value
    book = services.portfolio.book(bot.id)
    assert books.model.rowCount() == 1
    assert books.cell_text(0, "Equity") == fmt_money(book.equity)
    assert bots.cell_text(0, "Equity") == fmt_money(book.equity)
    panel.chart.flush()
    assert panel.chart.candle_count == len(services.bots.bars(bot.id))
    assert panel.chart.marker_count == len(services.orders.fills(bot_id=bot.id))


def test_start_running_bot_reports_error_and_keeps_going(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run
) -> None:
    dock = BotsDock(services.bots, services.portfolio, services.events, admin.principal)
    qtbot.addWidget(dock)
    bot = make_bot(services, admin, "twice", seed=5)
    errors: list[str] = []
    dock.error.connect(errors.append)

    async def scenario() -> None:
        await dock.bot_actions.start(bot.id)
        with pytest.raises(Exception, match="already running"):
            await dock.bot_actions.start(bot.id)
        await until(lambda: bool(errors), what="the error signal")
        await dock.bot_actions.stop(bot.id)
        await settle()

    run(scenario())
    assert errors == [f"could not start the bot: bot {bot.name!r} is already running"]
    assert dock.cell_text(0, "Status") == "stopped"


def test_viewer_cannot_press_trading_buttons(
    qtbot: QtBot, services: Services, admin: LoginResult
) -> None:
    services.users.create("watcher", "watcher-password", "viewer", admin.principal)
    viewer = services.auth.login("watcher", "watcher-password")
    make_bot(services, admin, "watched", seed=2)
    dock = BotsDock(services.bots, services.portfolio, services.events, viewer.principal)
    qtbot.addWidget(dock)
    dock.view.selectRow(0)
    assert not dock.new_button.isEnabled()
    assert not dock.start_button.isEnabled()


def test_event_burst_causes_one_reload(qtbot: QtBot, services: Services, run: Run) -> None:
    dock = PortfolioDock(services.portfolio, services.events)
    qtbot.addWidget(dock)
    before = dock.refresher.fired
    now, one = services.clock.now(), Decimal(1)
    for _ in range(500):
        services.events.publish(PortfolioChanged(now, "some-bot", one, one, one, one))
    assert dock.refresher.pending
    run(settle())
    assert dock.refresher.fired == before + 1


def test_destroyed_dock_unsubscribes_from_bus(
    qtbot: QtBot, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    dock = OrdersDock(services.orders, services.bots, services.events)
    link = dock.link
    assert link.active == 3
    dock.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert link.active == 0
    with caplog.at_level(logging.ERROR):
        services.events.publish(
            BotStatusChanged(services.clock.now(), "gone", "gone", BotStatus.RUNNING)
        )
    assert not [r for r in caplog.records if "handler" in r.getMessage()]
