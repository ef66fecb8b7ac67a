"""ema_cross trades exactly the EMA crosses of an independent computation, on real candles."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles
from task_station.strategies.registry import build_strategy
from tests.strategies import reference as ref
from tests.strategies.helpers import BTC_1H, actual_fills, backtest, frame, long_only_fills


@pytest.mark.parametrize(("fast", "slow"), [(12, 26), (5, 40)])
def test_buys_on_the_cross_up_and_sells_on_the_cross_down(
    shared_data: Path, fast: int, slow: int
) -> None:
    df = frame(shared_data, BTC_1H, 30_000, 1500)
    bars = frame_to_candles(df)
    close = df["close"].to_numpy(dtype=float)
    signals = ref.crosses(ref.ema(close, fast) - ref.ema(close, slow))
    result = backtest("ema_cross", {"fast": fast, "slow": slow}, bars)
    expected = long_only_fills(signals, len(bars))
    assert len(expected) > 10
    assert actual_fills(result, bars) == expected
    for fill in result.fills:  # market orders at the next bar's open
        assert fill.price == next(b.open for b in bars if b.ts == fill.ts)


def test_fraction_spends_that_share_of_the_cash(shared_data: Path) -> None:
    bars = frame_to_candles(frame(shared_data, BTC_1H, 30_000, 400))
    result = backtest("ema_cross", {"fraction": "0.25"}, bars)
    first = result.fills[0]
    assert first.notional == pytest.approx(Decimal(25_000), rel=Decimal("1e-9"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fast": 26, "slow": 12}, "fast \\(26\\) must be smaller than slow \\(12\\)"),
        ({"slow": 1}, "'slow' must be at least 2"),
        ({"fraction": "1.5"}, "'fraction' must be at most 1"),
        ({"fraction": "0"}, "'fraction' must be at least 0.01"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_strategy("ema_cross", params)


def test_sma_cross_is_unchanged() -> None:
    assert build_strategy("sma_cross", {}).p == {"fast": 10, "slow": 30}
