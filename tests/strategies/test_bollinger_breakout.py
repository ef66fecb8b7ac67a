"""bollinger_breakout buys a close above the upper band and exits below the middle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies import reference as ref
from tests.strategies.helpers import ETH_1D, actual_fills, backtest, frame, long_only_fills


@pytest.mark.parametrize(("period", "k"), [(20, "2"), (10, "1.5")])
def test_trades_the_band_breakouts(shared_data: Path, period: int, k: str) -> None:
    df = frame(shared_data, ETH_1D)
    bars = frame_to_candles(df)
    close = df["close"].to_numpy(dtype=float)
    _, mid, upper = ref.bollinger(df["close"], period, float(k))
    signals = [
        0 if np.isnan(mid[t]) else 1 if close[t] > upper[t] else -1 if close[t] < mid[t] else 0
        for t in range(len(close))
    ]
    result = backtest(
        "bollinger_breakout", {"period": period, "k": k}, bars, symbol="ETH/USDT",
        timeframe="1d",
    )  # fmt: skip
    fills = actual_fills(result, bars)
    assert len(fills) > 20
    assert fills == long_only_fills(signals, len(bars))
    assert all(close[at - 1] > upper[at - 1] for side, at in fills if side == "buy")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": "0.05"}, "'k' must be at least 0.1"),
        ({"k": "2.05"}, "'k' must be 0.1 plus a multiple of 0.1"),
        ({"period": 1}, "'period' must be at least 2"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("bollinger_breakout", params)
