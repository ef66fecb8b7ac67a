"""Level of detail of the 2D candle item: merged bars are exact OHLC merges, zoomed out
the item paints about one bar a pixel, and live candles fold into cached levels."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot

from task_station.gui.candle_item import CandleItem, merge_rows
from task_station.gui.chart import CandleChart


def walk(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    x = np.arange(n, dtype=float) * 60.0
    return np.column_stack(
        (x, open_, np.maximum(open_, close) + 0.1, np.minimum(open_, close) - 0.1, close)
    )


def test_merged_rows_are_exact_ohlc_merges() -> None:
    rows = walk(10)
    merged = merge_rows(rows, 4)
    assert merged.shape == (3, 5)
    for g, (a, b) in enumerate([(0, 4), (4, 8), (8, 10)]):
        part = rows[a:b]
        assert merged[g].tolist() == [
            part[0, 0],
            part[0, 1],
            part[:, 2].max(),
            part[:, 3].min(),
            part[-1, 4],
        ]


def test_zoomed_out_the_item_paints_merged_bars(qtbot: QtBot) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.resize(800, 400)
    rows = walk(200_000)
    item: CandleItem = chart._candles
    item.set_data(rows)
    chart.plot.setXRange(rows[0, 0], rows[-1, 0], padding=0)
    chart.show()
    qtbot.waitExposed(chart)
    chart.grab()
    level = item.painted_level
    assert level > 1
    plot_pixels = chart.plot.getViewBox().width()
    assert 200_000 / level <= 2 * plot_pixels  # about one bar a pixel, never a million

    chart.plot.setXRange(rows[1000, 0], rows[1300, 0], padding=0)
    chart.grab()
    assert item.painted_level == 1  # zoomed in: every candle


def test_a_live_candle_folds_into_cached_levels(qtbot: QtBot) -> None:
    rows = walk(1_003)
    live, whole = CandleItem(), CandleItem()
    live.set_data(rows[:1_000])
    live._level(8)
    for row in rows[1_000:]:
        live.append(row)
    whole.set_data(rows)
    got, _ = live._level(8)
    want, _ = whole._level(8)
    assert np.array_equal(got, want)
