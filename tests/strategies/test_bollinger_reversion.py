"""bollinger_reversion buys a close below the lower band and sells back at the middle
(or upper) band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies import reference as ref
from tests.strategies.helpers import BTC_1H, actual_fills, backtest, frame, long_only_fills


@pytest.mark.parametrize("exit_at", ["middle", "upper"])
def test_buys_below_the_lower_band_and_exits_at_the_chosen_band(
    shared_data: Path, exit_at: str
) -> None:
    df = frame(shared_data, BTC_1H, 25_000, 2000)
    bars = frame_to_candles(df)
    close = df["close"].to_numpy(dtype=float)
    lower, mid, upper = ref.bollinger(df["close"], 20, 2.0)
    target = mid if exit_at == "middle" else upper
    signals = [
        0 if np.isnan(mid[t]) else 1 if close[t] < lower[t] else -1 if close[t] > target[t] else 0
        for t in range(len(close))
    ]
    result = backtest("bollinger_reversion", {"exit_at": exit_at}, bars)
    fills = actual_fills(result, bars)
    assert len(fills) > 10
    assert fills == long_only_fills(signals, len(bars))
    assert all(close[at - 1] < lower[at - 1] for side, at in fills if side == "buy")
    assert all(close[at - 1] > target[at - 1] for side, at in fills if side == "sell")


def test_bad_exit_is_refused() -> None:
    with pytest.raises(ValidationError, match="'exit_at' must be one of middle, upper"):
        build_strategy("bollinger_reversion", {"exit_at": "lower"})
