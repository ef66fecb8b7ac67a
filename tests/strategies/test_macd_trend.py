"""macd_trend trades the MACD/signal crosses of an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies import reference as ref
from tests.strategies.helpers import BTC_1H, actual_fills, backtest, frame, long_only_fills


@pytest.mark.parametrize("zero_filter", [False, True])
def test_buys_when_macd_crosses_above_its_signal_and_sells_below(
    shared_data: Path, zero_filter: bool
) -> None:
    df = frame(shared_data, BTC_1H, 40_000, 2000)
    bars = frame_to_candles(df)
    line, signal = ref.macd(df["close"], 12, 26, 9)
    signals = ref.crosses(line - signal)
    if zero_filter:
        signals = [s if s < 0 or line[t] > 0 else 0 for t, s in enumerate(signals)]
    result = backtest("macd_trend", {"zero_filter": zero_filter}, bars)
    fills = actual_fills(result, bars)
    assert len(fills) > 20
    assert fills == long_only_fills(signals, len(bars))
    if zero_filter:
        assert all(line[at - 1] > 0 for side, at in fills if side == "buy")
        assert not np.isnan(line[fills[0][1] - 1])


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="fast \\(30\\) must be smaller than slow \\(26\\)"):
        build_strategy("macd_trend", {"fast": 30})
    with pytest.raises(ValidationError, match="'zero_filter' must be true or false"):
        build_strategy("macd_trend", {"zero_filter": "maybe"})
