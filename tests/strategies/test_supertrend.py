"""supertrend is long exactly while an independent SuperTrend points up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies import reference as ref
from tests.strategies.helpers import BTC_1H, actual_fills, backtest, frame, long_only_fills


@pytest.mark.parametrize(("period", "mult"), [(10, "3"), (7, "2")])
def test_enters_on_flips_up_and_exits_on_flips_down(
    shared_data: Path, period: int, mult: str
) -> None:
    df = frame(shared_data, BTC_1H, 35_000, 2000)
    bars = frame_to_candles(df)
    direction = ref.supertrend_direction(df, period, float(mult))
    signals = [0] + [
        0 if np.isnan(direction[t - 1]) or direction[t] == direction[t - 1] else int(direction[t])
        for t in range(1, len(direction))
    ]
    result = backtest("supertrend", {"atr_period": period, "multiplier": mult}, bars)
    fills = actual_fills(result, bars)
    assert len(fills) > 10
    assert fills == long_only_fills(signals, len(bars))


def test_bad_multiplier_is_refused() -> None:
    with pytest.raises(ValidationError, match="'multiplier' must be at least 0.1"):
        build_strategy("supertrend", {"multiplier": "0"})
