"""The depth chart draws the book cumulatively and follows one market's updates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import numpy as np
from pytestqt.qtbot import QtBot

from task_station.domain.market_feed import BookUpdated
from task_station.engine.bus import EventBus
from task_station.gui.depth_chart import DepthChart, cumulative

BIDS = [(D("100"), D("1")), (D("99.5"), D("2")), (D("99"), D("3"))]
ASKS = [(D("100.5"), D("1.5")), (D("101"), D("0.5"))]


def test_cumulative_sizes_run_from_the_best_level() -> None:
    prices, sizes = cumulative(BIDS)
    assert prices.tolist() == [100.0, 99.5, 99.0] and sizes.tolist() == [1.0, 3.0, 6.0]


def test_the_chart_shows_both_sides_and_the_mid(qtbot: QtBot) -> None:
    chart = DepthChart()
    qtbot.addWidget(chart)
    chart.set_book(BIDS, ASKS)
    x, y = chart.bid_curve.getData()
    assert x.tolist() == [99.0, 99.5, 100.0] and y.tolist() == [6.0, 3.0, 1.0]
    x, y = chart.ask_curve.getData()
    assert x.tolist() == [100.5, 101.0] and y.tolist() == [1.5, 2.0]
    assert chart.mid_line.value() == 100.25
    assert "spread 0.5" in chart.readout.text()
    assert chart.depth_at(100.7) == ("asks", 1.5)
    assert chart.depth_at(99.2) == ("bids", 3.0)
    assert chart.depth_at(100.2) is None


def test_it_follows_only_its_market(qtbot: QtBot) -> None:
    bus = EventBus()
    chart = DepthChart(bus, fps=100)
    qtbot.addWidget(chart)
    chart.follow("binance", "BTC/USDT")
    now = datetime.now(UTC)
    bus.publish(BookUpdated(now, "binance", "ETH/USDT", tuple(BIDS), tuple(ASKS)))
    qtbot.wait(50)
    assert chart.bid_curve.getData()[0] is None or len(chart.bid_curve.getData()[0]) == 0
    bus.publish(BookUpdated(now, "binance", "BTC/USDT", tuple(BIDS), tuple(ASKS)))
    qtbot.waitUntil(lambda: chart.mid_line.value() == 100.25, timeout=2000)
    assert np.isclose(chart.ask_curve.getData()[1][-1], 2.0)
