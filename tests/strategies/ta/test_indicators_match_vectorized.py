"""Every incremental indicator equals its vectorized twin, bar by bar, on real candles.

Real series: Binance BTC/USDT 1h (52k bars, crypto, 24/7, includes zero-volume bars),
GOOG 1d (equity daily) and EUR/USD 1h (forex, prices near 1 moving by 1e-5). The
candles go through the incremental classes as exact-decimal ``Candle`` objects, the
same file goes through ``vectorized`` as float64 columns.

Tolerance: both sides compute in float64 from the same numbers and differ only in
summation order (rolling sums, seeds, pandas' ewm normalisation), so a bar passes when
``|incremental - vectorized| <= 1e-9 * max(|vectorized|, median |column|)``; the median
term judges outputs that cross zero (MACD, histogram) against their typical size.
Observed worst cases are around 1e-12. Rolling max/min based outputs (Donchian,
Ichimoku) and OBV must be bit-identical. Warm-up must agree exactly: the incremental
indicator is ready at precisely the bars where the vectorized output stops being NaN,
which is after ``warmup`` bars.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles, read_frame
from task_station.strategies import ta
from task_station.strategies.ta import vectorized as vec

RTOL = 1e-9
CANDLE_FILES = (
    "binance/BTC_USDT-1h.parquet",
    "other/GOOG-1d.parquet",
    "other/EUR_USD-1h.parquet",
)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], Any]
    outputs: tuple[str, ...]
    reference: Callable[[pd.DataFrame], pd.Series | pd.DataFrame]
    closes_only: bool = False
    exact: bool = False
    # outputs that are differences of price-sized terms: their error scales with price
    price_relative: tuple[str, ...] = ()


CASES = (
    Case("sma", lambda: ta.SMA(20), ("value",), lambda f: vec.sma(f["close"], 20), True),
    Case("ema", lambda: ta.EMA(20), ("value",), lambda f: vec.ema(f["close"], 20), True),
    Case("wma", lambda: ta.WMA(20), ("value",), lambda f: vec.wma(f["close"], 20), True),
    Case("rsi", lambda: ta.RSI(14), ("value",), lambda f: vec.rsi(f["close"], 14), True),
    Case(
        "macd",
        lambda: ta.MACD(12, 26, 9),
        ("macd", "signal", "histogram"),
        lambda f: vec.macd(f["close"], 12, 26, 9),
        closes_only=True,
        price_relative=("macd", "signal", "histogram"),
    ),
    Case(
        "bollinger",
        lambda: ta.BollingerBands(20, 2.0),
        ("middle", "upper", "lower", "percent_b", "bandwidth"),
        lambda f: vec.bollinger(f["close"], 20, 2.0),
        closes_only=True,
    ),
    Case("atr", lambda: ta.ATR(14), ("value",), lambda f: vec.atr(f, 14)),
    Case("adx", lambda: ta.ADX(14), ("plus_di", "minus_di", "adx"), lambda f: vec.adx(f, 14)),
    Case("stochastic", lambda: ta.Stochastic(14, 3, 3), ("k", "d"), lambda f: vec.stochastic(f)),
    Case(
        "donchian",
        lambda: ta.DonchianChannel(20),
        ("upper", "lower", "middle"),
        lambda f: vec.donchian(f, 20),
        exact=True,
    ),
    Case(
        "donchian_previous",
        lambda: ta.DonchianChannel(20, include_current=False),
        ("upper", "lower", "middle"),
        lambda f: vec.donchian(f, 20, include_current=False),
        exact=True,
    ),
    Case(
        "keltner",
        lambda: ta.KeltnerChannel(20, 10, 2.0),
        ("middle", "upper", "lower"),
        lambda f: vec.keltner(f, 20, 10, 2.0),
    ),
    Case("vwap", lambda: ta.VWAP(), ("value",), lambda f: vec.vwap(f)),
    Case(
        "vwap_utc_day",
        lambda: ta.VWAP(reset_utc_day=True),
        ("value",),
        lambda f: vec.vwap(f, reset_utc_day=True),
    ),
    Case("rolling_vwap", lambda: ta.RollingVWAP(20), ("value",), lambda f: vec.rolling_vwap(f, 20)),
    Case(
        "supertrend",
        lambda: ta.SuperTrend(10, 3.0),
        ("value", "direction", "upper", "lower"),
        lambda f: vec.supertrend(f, 10, 3.0),
    ),
    Case("obv", lambda: ta.OBV(), ("value",), lambda f: vec.obv(f), exact=True),
    Case(
        "ichimoku",
        lambda: ta.Ichimoku(9, 26, 52, 26),
        ("tenkan", "kijun", "senkou_a", "senkou_b", "leading_a", "leading_b", "chikou"),
        lambda f: vec.ichimoku(f, 9, 26, 52, 26),
        exact=True,
    ),
)
CASE_IDS = [c.name for c in CASES]


def run_incremental(case: Case, candles: Sequence[Candle]) -> np.ndarray:
    """Feed bars one at a time; NaN rows while not ready, as the vectorized side."""
    indicator = case.make()
    rows = np.full((len(candles), len(case.outputs)), np.nan)
    for i, candle in enumerate(candles):
        indicator.update(candle.close if case.closes_only else candle)
        if indicator.ready:
            rows[i] = [getattr(indicator, name) for name in case.outputs]
    return rows


def run_reference(case: Case, frame: pd.DataFrame) -> np.ndarray:
    result = case.reference(frame)
    if isinstance(result, pd.Series):
        return result.to_numpy(dtype=np.float64).reshape(-1, 1)
    return result[list(case.outputs)].to_numpy(dtype=np.float64)


def assert_matches(case: Case, got: np.ndarray, want: np.ndarray, closes: np.ndarray) -> None:
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="warm-up differs")
    defined = ~np.isnan(want)
    if case.exact:
        np.testing.assert_array_equal(got[defined], want[defined])
        return
    for j, name in enumerate(case.outputs):
        g, w = got[defined[:, j], j], want[defined[:, j], j]
        typical = float(np.median(np.abs(w)))
        if name in case.price_relative:
            typical = max(typical, float(np.median(np.abs(closes))))
        scale = np.maximum(np.abs(w), typical)
        err = np.abs(g - w)
        worst = int(np.argmax(err - RTOL * scale))
        assert err[worst] <= RTOL * scale[worst], (
            f"{case.name}.{name}: bar {worst} after warm-up: incremental {g[worst]!r} "
            f"vs vectorized {w[worst]!r}"
        )


# --- real candles ---------------------------------------------------------------------

_loaded: dict[str, tuple[pd.DataFrame, list[Candle]]] = {}


@pytest.fixture(params=CANDLE_FILES, scope="module")
def series(request: pytest.FixtureRequest, shared_data: Path) -> tuple[pd.DataFrame, list[Candle]]:
    name = str(request.param)
    if name not in _loaded:
        frame = read_frame(shared_data / "candles" / name)
        _loaded[name] = (frame, frame_to_candles(frame))
    return _loaded[name]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_incremental_equals_vectorized_on_real_candles(
    case: Case, series: tuple[pd.DataFrame, list[Candle]]
) -> None:
    frame, candles = series
    got = run_incremental(case, candles)
    want = run_reference(case, frame)
    assert_matches(case, got, want, frame["close"].to_numpy())
    first_ready = int(np.argmax(~np.isnan(got).any(axis=1)))
    assert first_ready == case.make().warmup - 1


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_warm_up_then_reset(case: Case, series: tuple[pd.DataFrame, list[Candle]]) -> None:
    _, candles = series
    indicator = case.make()
    head = candles[:200]
    for i, candle in enumerate(head):
        if not indicator.ready:
            with pytest.raises(ta.IndicatorNotReady):
                getattr(indicator, case.outputs[0])
        indicator.update(candle.close if case.closes_only else candle)
        assert indicator.ready == (i + 1 >= indicator.warmup), f"bar {i}"
    # After a reset the indicator is as new: fed another stretch, it matches a fresh one.
    indicator.reset()
    assert not indicator.ready
    fresh = case.make()
    for candle in candles[500:700]:
        for ind in (indicator, fresh):
            ind.update(candle.close if case.closes_only else candle)
    assert [getattr(indicator, n) for n in case.outputs] == [
        getattr(fresh, n) for n in case.outputs
    ]


# --- hand-checked values --------------------------------------------------------------

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def bar(high: str, low: str, close: str, volume: str = "1", hour: int = 0) -> Candle:
    return Candle(
        T0 + timedelta(hours=hour),
        Decimal(close),
        Decimal(high),
        Decimal(low),
        Decimal(close),
        Decimal(volume),
    )


def feed(indicator: Any, values: Sequence[Any], output: str = "value") -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        indicator.update(Decimal(v) if isinstance(v, str) else v)
        out.append(getattr(indicator, output) if indicator.ready else None)
    return out


def test_moving_averages_by_hand() -> None:
    assert feed(ta.SMA(3), ["1", "2", "3", "4"]) == [None, None, 2.0, 3.0]
    # EMA(3): alpha 1/2, seeded with SMA(1, 2, 3) = 2, then 2 + (10 - 2) / 2 = 6.
    assert feed(ta.EMA(3), ["1", "2", "3", "10"]) == [None, None, 2.0, 6.0]
    # WMA(3): (1*1 + 2*2 + 3*3) / 6, then (2*1 + 3*2 + 6*3) / 6.
    got = feed(ta.WMA(3), ["1", "2", "3", "6"])
    assert got[:2] == [None, None]
    assert got[2:] == pytest.approx([14 / 6, 26 / 6], rel=1e-15)


def test_rsi_by_hand() -> None:
    # Changes +1, -0.5, +1. Seed (period 2): gain (1 + 0) / 2, loss (0 + 0.5) / 2 -> 200/3.
    # Then Wilder: gain (0.5 + 1) / 2 = 0.75, loss 0.25 / 2 = 0.125 -> 100 * 0.75 / 0.875.
    got = feed(ta.RSI(2), ["1", "2", "1.5", "2.5"])
    assert got[:2] == [None, None]
    assert got[2:] == pytest.approx([200 / 3, 600 / 7], rel=1e-15)
    assert feed(ta.RSI(2), ["5", "5", "5"])[-1] == 50.0  # no movement at all


def test_atr_by_hand() -> None:
    bars = [
        bar("10", "8", "9"),
        bar("11", "9", "10"),
        bar("12", "10", "11.5"),
        bar("15", "12", "14"),
    ]
    # TR: -, max(2, 2, 0) = 2, max(2, 2, 0) = 2, max(3, |15 - 11.5|, |12 - 11.5|) = 3.5.
    # ATR(2): seed (2 + 2) / 2 = 2, then (2 * 1 + 3.5) / 2 = 2.75.
    assert feed(ta.ATR(2), bars) == [None, None, 2.0, 2.75]


def test_bollinger_by_hand() -> None:
    bands = ta.BollingerBands(3, Decimal(2))
    feed(bands, ["1", "2", "3"], "middle")
    sd = math.sqrt(2 / 3)  # population deviation of 1, 2, 3
    assert bands.middle == 2.0
    assert bands.upper == pytest.approx(2 + 2 * sd, rel=1e-15)
    assert bands.lower == pytest.approx(2 - 2 * sd, rel=1e-15)
    assert bands.percent_b == pytest.approx((1 + 2 * sd) / (4 * sd), rel=1e-15)
    assert bands.bandwidth == pytest.approx(4 * sd / 2, rel=1e-15)
    flat = ta.BollingerBands(3)
    feed(flat, ["1.1", "1.1", "1.1"], "middle")
    assert (flat.upper, flat.lower, flat.percent_b, flat.bandwidth) == (1.1, 1.1, 0.5, 0.0)


def test_obv_donchian_and_session_vwap_by_hand() -> None:
    bars = [
        bar("11", "9", "10", "5", hour=22),
        bar("12", "10", "11", "7", hour=23),
        bar("13", "8", "11", "3", hour=24),  # next UTC day
        bar("10", "7", "9", "2", hour=25),
    ]
    assert feed(ta.OBV(), bars) == [0.0, 7.0, 7.0, 5.0]
    assert feed(ta.DonchianChannel(2), bars, "upper") == [None, 12.0, 13.0, 13.0]
    # The previous two bars only: the current bar's high never counts.
    previous = ta.DonchianChannel(2, include_current=False)
    assert feed(previous, bars, "upper") == [None, None, 12.0, 13.0]
    assert previous.lower == 8.0
    # Typical prices 10, 11, 32/3, 26/3; the UTC-day session restarts on the third bar.
    got = feed(ta.VWAP(reset_utc_day=True), bars)
    assert got == pytest.approx([10.0, (50 + 77) / 12, 32 / 3, (32 + 52 / 3) / 5], rel=1e-15)
    assert feed(ta.VWAP(), bars)[-1] == pytest.approx((50 + 77 + 32 + 52 / 3) / 17, rel=1e-15)


def test_parameters_are_validated() -> None:
    for make in (
        lambda: ta.SMA(0),
        lambda: ta.RSI(-1),
        lambda: ta.MACD(26, 12),
        lambda: ta.Ichimoku(displacement=-1),
    ):
        with pytest.raises(ValidationError):
            make()
    naive = Candle(datetime(2024, 1, 1), *(Decimal(1),) * 5)
    with pytest.raises(ValidationError):
        ta.VWAP(reset_utc_day=True).update(naive)


# --- random price paths ---------------------------------------------------------------

RANDOM_CASES = [c for c in CASES if c.name in {"ema", "wma", "rsi", "macd", "bollinger", "adx",
                                                "stochastic", "supertrend", "rolling_vwap"}]  # fmt: skip


@st.composite
def price_paths(draw: st.DrawFn) -> list[Candle]:
    """Random walks with flat stretches (no movement at all is a real edge case)."""
    n = draw(st.integers(min_value=40, max_value=160))
    step = st.one_of(st.just(0), st.integers(min_value=-300, max_value=300))
    moves = draw(st.lists(st.tuples(step, st.integers(0, 80), st.integers(0, 80),
                                    st.integers(1, 10_000)), min_size=n, max_size=n))  # fmt: skip
    price = 10_000  # in cents
    candles = []
    for i, (move, up, down, volume) in enumerate(moves):
        open_ = price
        price = max(100, price + move)
        cents = Decimal("0.01")
        candles.append(
            Candle(
                T0 + timedelta(hours=i),
                open_ * cents,
                (max(open_, price) + up) * cents,
                (min(open_, price) - min(down, 99)) * cents,
                price * cents,
                Decimal(volume),
            )
        )
    return candles


def to_frame(candles: Sequence[Candle]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [int(c.ts.timestamp() * 1000) for c in candles],
            **{
                f: [float(getattr(c, f)) for c in candles]
                for f in ("high", "low", "close", "volume")
            },
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candles=price_paths())
def test_incremental_equals_vectorized_on_random_paths(candles: list[Candle]) -> None:
    frame = to_frame(candles)
    for case in RANDOM_CASES:
        got = run_incremental(case, candles)
        assert_matches(case, got, run_reference(case, frame), frame["close"].to_numpy())
