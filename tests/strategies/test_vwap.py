"""vwap: slices proportional to the time-of-day volume profile learned during the warm-up
(recomputed with pandas), completing the parent within the horizon."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies.helpers import BTC_1H, backtest, bar_index, frame

WARMUP, HORIZON, QUANTITY = 168, 24, Decimal(5)


def test_slices_follow_the_hourly_volume_profile(shared_data: Path) -> None:
    df = frame(shared_data, BTC_1H, 30_000, WARMUP + HORIZON + 5)
    bars = frame_to_candles(df)
    params = {"quantity": str(QUANTITY), "horizon_bars": HORIZON, "warmup_bars": WARMUP}
    result = backtest("vwap", params, bars, cash=Decimal(1_000_000))
    hour = (df["timestamp"] // 3_600_000) % 24
    profile = df["volume"][:WARMUP].groupby(hour[:WARMUP]).mean()
    fill_rows = range(WARMUP + 1, WARMUP + 1 + HORIZON)  # child j fills in this bar
    weights = pd.Series([profile[hour[r]] for r in fill_rows])
    expected = weights / weights.sum() * float(QUANTITY)
    index = bar_index(bars)
    fills = result.fills
    assert [index[f.ts] for f in fills] == list(fill_rows)
    for fill, share in zip(fills[:-1], expected[:-1], strict=True):
        assert float(fill.quantity) == pytest.approx(share, abs=1e-9)
    assert sum(f.quantity for f in fills) == QUANTITY, "exactly the parent, no more"


def test_without_warmup_the_slices_are_equal(shared_data: Path) -> None:
    bars = frame_to_candles(frame(shared_data, BTC_1H, 30_000, 20))
    result = backtest("vwap", {"quantity": "1.2", "horizon_bars": 12, "warmup_bars": 0}, bars)
    assert [f.quantity for f in result.fills] == [Decimal("0.1")] * 12


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"warmup_bars": 6000}, "warmup_bars can be at most 5000"),
        ({"quantity": "-1"}, "'quantity' must be at least 0"),
        ({"side": "short"}, "'side' must be one of buy, sell"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("vwap", params)
