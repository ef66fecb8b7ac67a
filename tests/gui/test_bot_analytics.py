"""Per-bot analytics of a real bot run: the curves end where the book ends, the trade
list and P&L bars match the round trips, and the view follows the bot live."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from task_station.gui.bot_analytics import BotAnalyticsView, summary_texts
from task_station.services.analytics import AnalyticsService
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

from .helpers import make_bot, settle, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]


def test_analytics_of_a_finished_bot_match_its_book(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run
) -> None:
    bot = make_bot(services, admin, "trend", seed=11)
    analytics = AnalyticsService(services.bots, services.orders)
    view = BotAnalyticsView(analytics, services.events)
    qtbot.addWidget(view)
    view.show_bot(bot.id)
    assert view.empty.isVisible() is False or view.current is not None  # nothing run yet
    assert view.current is not None and view.current.bars == 0

    async def scenario() -> None:
        await services.bots.start(admin.principal, bot.id)
        await until(lambda: services.bots.get(bot.id).status.value == "finished", what="finish")
        await settle(1.2)  # the coalesced refresh

    run(scenario())
    a = view.current
    assert a is not None and a.bars == len(services.bots.bars(bot.id)) > 0
    book = services.portfolio.book(bot.id)
    assert a.equity[-1] == pytest.approx(float(book.equity), rel=1e-9)
    assert a.equity[0] <= float(a.starting_cash) + 1e-9 or a.equity[0] > 0
    assert np.all(a.drawdown >= 0) and a.drawdown.max() <= 1
    assert a.drawdown.max() == pytest.approx(a.metrics.max_drawdown)  # type: ignore[union-attr]
    assert np.all((a.exposure >= 0) & (a.exposure <= 1.0001))
    fills = services.orders.fills(bot_id=bot.id)
    assert fills, "the bot should have traded"
    assert view.trades.rowCount() == len(a.trades) > 0
    assert sum(t.pnl for t in a.trades) == pytest.approx(
        book.equity - a.starting_cash, abs=Decimal("0.01")
    )  # round trips (the open one marked) add up to the book's profit
    heights = view.pnl_bars.opts["height"]
    assert list(heights) == [float(t.pnl) for t in a.trades]
    texts = summary_texts(a)
    assert view.values["Trades"].text() == str(len(a.trades))
    assert view.values["Return"].text() == texts["Return"] != "—"
    # the newest trade is the first row
    assert view.trades.item(0, 8).text() == a.trades[-1].entry_reason


def test_unknown_bot_shows_nothing(qtbot: QtBot, services: Services) -> None:
    view = BotAnalyticsView(AnalyticsService(services.bots, services.orders), services.events)
    qtbot.addWidget(view)
    view.show_bot("no-such-bot")
    assert view.bot_id is None and view.current is None
    assert view.values["Equity"].text() == "—"
