"""market_making: post-only quotes around the Avellaneda-Stoikov reservation price,
skewed by inventory, refreshed every bar; each quote recomputed independently."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from task_station.domain.errors import ValidationError
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies.helpers import BTC_1H, backtest, frame

LOT, GAMMA, KAPPA, WINDOW, MAX_Q, MIN_SPREAD = 0.5, 10.0, 1000.0, 50, 4, 0.001
HOUR = timedelta(hours=1)


def test_quotes_sit_around_the_reservation_price_and_lean_against_inventory(
    shared_data: Path,
) -> None:
    df = frame(shared_data, BTC_1H, 20_000, 700)
    bars = frame_to_candles(df)
    params = {
        "order_size": str(LOT), "gamma": str(GAMMA), "kappa": str(KAPPA),
        "vol_window": WINDOW, "max_inventory": str(MAX_Q), "min_spread": str(MIN_SPREAD),
    }  # fmt: skip
    result = backtest("market_making", params, bars)
    close = df["close"].to_numpy(dtype=float)
    returns = np.diff(np.log(close))
    by_time: dict[datetime, dict[OrderSide, Order]] = {}
    for o in result.orders:
        assert o.type is OrderType.LIMIT and o.post_only
        assert o.status in (OrderStatus.FILLED, OrderStatus.CANCELED)
        assert o.updated_at is not None and o.updated_at <= o.created_at + HOUR, "one bar"
        by_time.setdefault(o.created_at, {})[o.side] = o
    skews: list[tuple[float, float]] = []
    inventories: Counter[int] = Counter()
    for k in range(WINDOW, len(bars) - 1):
        quotes = by_time.get(bars[k].ts + HOUR, {})
        held = sum(
            (f.quantity * f.side.sign for f in result.fills if f.ts <= bars[k].ts), Decimal(0)
        )
        q = float(held) / LOT
        inventories[round(q)] += 1
        mid = close[k]
        var = float(np.var(returns[k - WINDOW : k]))  # the last WINDOW one-bar returns
        r = mid * (1 - q * GAMMA * var)
        spread = mid * (GAMMA * var + 2 / GAMMA * math.log(1 + GAMMA / KAPPA))
        half, edge = max(spread, mid * MIN_SPREAD) / 2, mid * MIN_SPREAD / 2
        bid, ask = min(r - half, mid - edge), max(r + half, mid + edge)
        assert (OrderSide.BUY in quotes) == (q < MAX_Q), k
        assert (OrderSide.SELL in quotes) == (held > 0), k
        if OrderSide.BUY in quotes:
            b = quotes[OrderSide.BUY]
            assert float(b.price or 0) == pytest.approx(bid, rel=1e-9)
            assert b.quantity == Decimal(str(LOT))
        if OrderSide.SELL in quotes:
            a = quotes[OrderSide.SELL]
            assert float(a.price or 0) == pytest.approx(ask, rel=1e-9)
            assert a.quantity == min(Decimal(str(LOT)), held)
        if len(quotes) == 2 and r - half < mid - edge and r + half > mid + edge:
            center = sum(float(o.price or 0) for o in quotes.values()) / 2
            assert center == pytest.approx(r, rel=1e-9), "centred on the reservation price"
            skews.append((q, center / mid - 1))
    assert len(result.fills) > 50
    assert inventories[0] > 0 and max(inventories) >= MAX_Q, "inventory swings both ways"
    assert any(q >= 1 for q, _ in skews)
    for q, skew in skews:  # more inventory, lower quotes; none held, centred on the mid
        assert skew <= 0 if q > 0 else skew == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"gamma": "0"}, "'gamma' must be at least 0.0001"),
        ({"vol_window": 1}, "'vol_window' must be at least 2"),
        ({"min_spread": "0.9"}, "'min_spread' must be at most 0.5"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("market_making", params)
