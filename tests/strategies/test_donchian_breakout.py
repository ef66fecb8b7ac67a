"""donchian_breakout (turtle): N-bar breakout entries sized by ATR, a 2-ATR stop, M-bar
exits; every trade checked against an independent simulation of the rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from task_station.domain.errors import ValidationError
from task_station.domain.orders import OrderSide, OrderStatus, OrderType
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies import reference as ref
from tests.strategies.helpers import BTC_1H, actual_fills, backtest, bar_index, frame

N, M, ATR_N = 20, 10, 20


def simulate(df: pd.DataFrame, atr: np.ndarray, stop_atr: float) -> list[tuple[str, int]]:
    """(what, bar) of every fill: entries and exits, by the documented rules."""
    high_n = df["high"].rolling(N).max().shift(1).to_numpy()
    low_m = df["low"].rolling(M).min().shift(1).to_numpy()
    o, lo, c = (df[k].to_numpy(dtype=float) for k in ("open", "low", "close"))
    ready = ~np.isnan(high_n) & ~np.isnan(low_m) & ~np.isnan(atr)
    out: list[tuple[str, int]] = []
    long, stop, entry_atr = False, None, 0.0
    t = 0
    while t < len(df) - 1:
        if not long:
            if ready[t] and c[t] > high_n[t]:
                e = t + 1
                out.append(("buy", e))
                long, entry_atr = True, atr[t]
                stop = o[e] - stop_atr * entry_atr if stop_atr else None
                t = e
                if ready[e] and c[e] < low_m[e] and e < len(df) - 1:  # exit on the entry bar
                    out.append(("sell", e + 1))
                    long, t = False, e + 1
                continue
            t += 1
            continue
        j = t + 1  # the stop works from the bar after it was placed
        if stop is not None and lo[j] <= stop:
            out.append(("stop", j))
            long, t = False, j
            continue
        if ready[j] and c[j] < low_m[j] and j < len(df) - 1:
            out.append(("sell", j + 1))
            long, t = False, j + 1
            continue
        t = j
    return out


@pytest.mark.parametrize("start", [20_000, 30_000])
def test_entries_exits_sizes_and_stops_follow_the_turtle_rules(
    shared_data: Path, start: int
) -> None:
    df = frame(shared_data, BTC_1H, start, 2000)
    bars = frame_to_candles(df)
    atr = ref.atr(df, ATR_N)
    result = backtest("donchian_breakout", {}, bars)
    index = bar_index(bars)
    stop_cids = {o.client_order_id for o in result.orders if o.type is OrderType.STOP_MARKET}
    got = [
        ("stop" if f.client_order_id in stop_cids else f.side.value, index[f.ts])
        for f in result.fills
    ]
    expected = simulate(df, atr, 2.0)
    assert got == expected
    assert {w for w, _ in got} == {"buy", "sell", "stop"}, "both kinds of exit happen"
    curve = [p.equity for p in result.equity_curve]
    buys = [f for f in result.fills if f.side is OrderSide.BUY]
    stops = sorted(
        (o for o in result.orders if o.type is OrderType.STOP_MARKET), key=lambda o: o.created_at
    )
    assert len(stops) == len(buys)
    for fill, stop in zip(buys, stops, strict=True):
        t = index[fill.ts] - 1  # the signal bar
        equity = float(curve[t])  # flat at the signal: equity is cash
        units = min(equity * 0.01 / atr[t], equity * 0.98 / float(bars[t].close))
        assert float(fill.quantity) == pytest.approx(units, rel=1e-9)
        assert stop.quantity == fill.quantity
        assert stop.trigger_price is not None
        assert float(stop.trigger_price) == pytest.approx(float(fill.price) - 2 * atr[t], rel=1e-9)
        assert stop.created_at == fill.ts + timedelta(hours=1), "at the entry bar's close"
    for stop in stops:
        if stop.status is OrderStatus.FILLED:
            (f,) = stop.fills
            assert f.price == min(
                stop.trigger_price or 0, next(b.open for b in bars if b.ts == f.ts)
            )


def test_without_stop_only_channel_exits(shared_data: Path) -> None:
    df = frame(shared_data, BTC_1H, 20_000, 1500)
    bars = frame_to_candles(df)
    result = backtest("donchian_breakout", {"stop_atr": "0"}, bars)
    assert actual_fills(result, bars) == simulate(df, ref.atr(df, ATR_N), 0.0)
    assert all(o.type is OrderType.MARKET for o in result.orders)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"exit_period": 30}, "exit_period \\(30\\) must not exceed entry_period \\(20\\)"),
        ({"risk": "0.9"}, "'risk' must be at most 0.5"),
        ({"stop_atr": "-1"}, "'stop_atr' must be at least 0"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("donchian_breakout", params)
