"""The candle item's data, bounds and markers, over real synthetic candles."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from task_station.domain.candles import Candle
from task_station.domain.orders import Fill, OrderSide
from task_station.gui.chart import CHUNK, CandleChart, candle_row
from task_station.services.market import MarketService


@pytest.fixture(scope="module")
def candles() -> tuple[Candle, ...]:
    return MarketService(synthetic_bars=700).series("synthetic:3").candles


def fill(candle: Candle, side: OrderSide, trade_id: str) -> Fill:
    return Fill(
        trade_id,
        "c-" + trade_id,
        "BTC/USDT",
        side,
        candle.close,
        Decimal(1),
        Decimal(0),
        "USDT",
        "taker",
        candle.ts,
    )


def test_append_matches_set_and_bounds_cover_candles(
    qtbot: QtBot, candles: tuple[Candle, ...]
) -> None:
    whole, grown = CandleChart(), CandleChart()
    qtbot.addWidget(whole)
    qtbot.addWidget(grown)
    whole.set_candles(candles)
    grown.set_candles(candles[: CHUNK + 10])
    for candle in candles[CHUNK + 10 :]:
        grown.append_candle(candle)
    grown.flush()
    item = grown._candles
    assert grown.candle_count == whole.candle_count == len(candles)
    assert np.array_equal(item.data, whole._candles.data)
    assert item.dataBounds(1) == (
        float(min(c.low for c in candles)),
        float(max(c.high for c in candles)),
    )
    last = candles[-20:]
    window = (candle_row(last[0])[0], candle_row(last[-1])[0])
    assert item.dataBounds(1, orthoRange=window) == (
        float(min(c.low for c in last)),
        float(max(c.high for c in last)),
    )
    x0, x1 = grown.plot.getViewBox().viewRange()[0]
    assert x0 <= candle_row(candles[-1])[0] <= x1, "the view follows the newest bar"


def test_markers_sit_below_buys_and_above_sells(qtbot: QtBot, candles: tuple[Candle, ...]) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.set_candles(candles)
    buy, sell = candles[100], candles[120]
    chart.set_trades([fill(buy, OrderSide.BUY, "1"), fill(sell, OrderSide.SELL, "2")])
    chart.add_trade(fill(sell, OrderSide.SELL, "2"))  # already shown: ignored
    chart.flush()
    assert chart.marker_count == 2
    ys = sorted(zip(chart._markers.data["x"], chart._markers.data["y"], strict=True))
    assert ys[0][1] < float(buy.low)
    assert ys[1][1] > float(sell.high)


def test_empty_chart_has_no_bounds(qtbot: QtBot) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.clear()
    assert chart.candle_count == chart.marker_count == 0
    assert chart._candles.boundingRect().isNull()
