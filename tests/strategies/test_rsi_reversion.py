"""rsi_reversion buys only when RSI < lower and sells only when RSI > upper, checked
against an independent pandas RSI on real candles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies import reference as ref
from tests.strategies.helpers import ETH_1H, actual_fills, backtest, frame, long_only_fills


@pytest.mark.parametrize(("period", "lower", "upper"), [(14, 30, 70), (7, 20, 65)])
def test_trades_follow_the_rsi_thresholds(
    shared_data: Path, period: int, lower: int, upper: int
) -> None:
    df = frame(shared_data, ETH_1H, 10_000, 3000)
    bars = frame_to_candles(df)
    rsi = ref.rsi(df["close"], period)
    signals = [0 if np.isnan(v) else 1 if v < lower else -1 if v > upper else 0 for v in rsi]
    result = backtest(
        "rsi_reversion", {"period": period, "lower": lower, "upper": upper}, bars,
        symbol="ETH/USDT",
    )  # fmt: skip
    fills = actual_fills(result, bars)
    assert len(fills) >= 8
    for side, at in fills:  # the signal bar is the one before the fill
        if side == "buy":
            assert rsi[at - 1] < lower
        else:
            assert rsi[at - 1] > upper
    assert fills == long_only_fills(signals, len(bars))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lower": 70, "upper": 30}, "lower \\(70\\) must be below upper \\(30\\)"),
        ({"upper": 101}, "'upper' must be at most 100"),
        ({"period": 1}, "'period' must be at least 2"),
        ({"lower": "low"}, "'lower' must be a number"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("rsi_reversion", params)
