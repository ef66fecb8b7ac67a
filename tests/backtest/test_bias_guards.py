"""Bias guards: no decision may depend on a bar that had not closed yet, and the
strategy's warm-up is explicit.

The look-ahead check perturbs every bar after t and replays again: every order asked for
and every fill up to t's close must come out identical, for every strategy family (on
the fast replay, whose declared indicators are computed over the whole series at once:
exactly where a look-ahead would creep in).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest_sync
from task_station.domain.bar_columns import BarColumns
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.marketdata.candle_files import read_frame
from task_station.strategies.indicators import SmaCrossSign

FAMILIES = [
    "sma_cross",
    "ema_cross",
    "bollinger_breakout",
    "bollinger_reversion",
    "rsi_reversion",
    "donchian_breakout",
    "macd_trend",
    "supertrend",
    "grid",
    "market_making",
    "dca",
]


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> BarColumns:
    frame = read_frame(shared_data / "candles/binance/ETH_USDT-1h.parquet")
    return BarColumns.from_frame(frame.iloc[:3000])


def perturbed_after(bars: BarColumns, t: int, seed: int = 5) -> BarColumns:
    """The same bars up to ``t``; after it, another market (scaled by a random walk,
    rounded to the cent, OHLC kept consistent)."""
    rng = np.random.default_rng(seed)
    n = len(bars)
    factor = np.ones(n)
    factor[t + 1 :] = np.exp(np.cumsum(rng.normal(0, 0.02, n - t - 1)))
    o, h, lo, c = (np.round(getattr(bars, f) * factor, 2) for f in ("open", "high", "low", "close"))
    h = np.maximum.reduce([h, o, c])
    lo = np.minimum.reduce([lo, o, c])
    return BarColumns(bars.ts.copy(), o, h, lo, c, bars.volume.copy())


def config(bars: BarColumns, strategy: str) -> BacktestConfig:
    return BacktestConfig(
        strategy=strategy,
        params={},
        candles=(),
        bars=bars,
        instrument=Instrument.from_symbol("ETH/USDT"),
        timeframe="1h",
        cash=Decimal(10_000),
        taker_fee=Decimal("0.001"),
        maker_fee=Decimal("0.001"),
    )


def decisions_until(result: BacktestResult, cutoff_ms: int) -> list[tuple[object, ...]]:
    cutoff = result.bars.time(0) + timedelta(milliseconds=cutoff_ms - int(result.bars.ts[0]))
    orders = [
        (o.side, o.type, o.quantity, o.quote_quantity, o.price, o.trigger_price, o.created_at)
        for o in result.orders
        if o.created_at <= cutoff
    ]
    # a fill is stamped with the open of the bar it traded in: those of bar t open before
    fills = [(f.side, f.price, f.quantity, f.fee, f.ts) for f in result.fills if f.ts < cutoff]
    return [*orders, *fills]


@pytest.mark.parametrize("family", FAMILIES)
def test_perturbing_the_future_changes_no_decision_of_the_past(
    family: str, bars: BarColumns
) -> None:
    t = 2000
    original = run_backtest_sync(config(bars, family))
    other = run_backtest_sync(config(perturbed_after(bars, t), family))
    close_of_t = int(bars.ts[t]) + 3_600_000
    before = decisions_until(original, close_of_t)
    assert before, f"{family} made no decision in 2000 bars: the test would prove nothing"
    assert before == decisions_until(other, close_of_t)
    # and the perturbation is real: what comes after does differ
    assert original.final_equity != other.final_equity or original.fills != other.fills


def test_a_whole_series_indicator_never_reads_ahead(bars: BarColumns) -> None:
    sign = SmaCrossSign(10, 30)
    full = sign.batch(bars)
    for t in (29, 30, 500, 2999):
        assert sign.batch(perturbed_after(bars, t))[: t + 1] == full[: t + 1]
        assert SmaCrossSign(10, 30).batch(bars.slice(0, t + 1)) == full[: t + 1]


def test_the_whole_series_and_bar_by_bar_faces_agree_at_every_bar(bars: BarColumns) -> None:
    live = SmaCrossSign(7, 25)
    assert [live.update(bars.candle(i)) for i in range(len(bars))] == SmaCrossSign(7, 25).batch(
        bars
    )


def slow_cross(bars: BarColumns, warmup: int = 0) -> BacktestConfig:
    return BacktestConfig(
        strategy="sma_cross",
        params={"fast": 10, "slow": 200},
        candles=(),
        bars=bars,
        instrument=Instrument.from_symbol("ETH/USDT"),
        timeframe="1h",
        cash=Decimal(10_000),
        warmup=warmup,
    )


def test_the_strategy_warm_up_is_explicit_and_never_traded(bars: BarColumns) -> None:
    result = run_backtest_sync(slow_cross(bars, warmup=500))
    assert result.warmup == 500
    assert result.to_json()["warmup_bars"] == 500
    first_trade = min(o.created_at for o in result.orders)
    assert first_trade >= bars.time(500)
    # sma_cross declares its own need: slow bars
    assert run_backtest_sync(slow_cross(bars)).warmup == 200


def test_data_shorter_than_the_warm_up_is_refused_with_a_clear_message(bars: BarColumns) -> None:
    with pytest.raises(ValidationError, match="needs 200 bars of warm-up but the data has 150"):
        run_backtest_sync(slow_cross(bars.slice(0, 150)))
