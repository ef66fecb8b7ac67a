"""The vectorized fast path agrees with the exact event-driven engine.

Every vectorized family is replayed through ``run_backtest_sync`` (strategy objects, the
order manager and the matching paper venue, exact ``Decimal`` money) on real series, with
and without fees: the fills must be the same fills (same count, bars, sides and prices)
and the float64 money must agree with the exact figures to ``REL_TOL``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest_sync
from task_station.backtest.vectorized import (
    FAMILIES,
    Bars,
    FloatArray,
    Indicators,
    VectorResult,
    decimal_scale,
    run_vectorized,
    signals,
    simulate,
    supports,
)
from task_station.domain.errors import DataError, ValidationError
from task_station.domain.instruments import Instrument
from task_station.marketdata.candle_files import frame_to_candles, read_frame
from task_station.strategies.ta import ATR, EMA, MACD, RSI, BollingerBands, SuperTrend

#: Relative agreement of final equity and fill sizes with the exact engine. Measured on
#: these series (about 14,000 fills): final equity within 3e-13, sizes within 2e-12
#: (float64 money; a size can differ by one 1e-12 lot where float rounding meets a lot).
REL_TOL = 1e-9

SERIES = {
    "binance BTC/USDT 1h": ("candles/binance/BTC_USDT-1h.parquet", slice(0, 20_000)),
    "binance ETH/USDT 1h": ("candles/binance/ETH_USDT-1h.parquet", slice(-15_000, None)),
    "bitstamp BTC/USD 1d": ("candles/bitstamp/BTC_USD-1d.parquet", slice(None)),
}

PARAMS: dict[str, dict[str, object]] = {
    "sma_cross": {"fast": 10, "slow": 30},
    "ema_cross": {"fast": 12, "slow": 26, "fraction": "0.5"},
    "macd_trend": {"fast": 12, "slow": 26, "signal": 9, "zero_filter": True},
    "rsi_reversion": {"period": 14, "lower": 30, "upper": 70},
    "bollinger_breakout": {"period": 20, "k": "2"},
    "bollinger_reversion": {"period": 20, "k": "2", "exit_at": "upper"},
    "supertrend": {"atr_period": 10, "multiplier": "3"},
}


class Series:
    """One market as a frame (for the fast path) and as candles (for the engine)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.reset_index(drop=True)
        self.bars = Bars.from_frame(self.frame)
        self.candles = frame_to_candles(self.frame)
        self.index = {c.ts: i for i, c in enumerate(self.candles)}

    def engine(self, strategy: str, params: Mapping[str, object], fee: str) -> BacktestResult:
        return run_backtest_sync(
            BacktestConfig(
                strategy=strategy,
                params=params,
                candles=self.candles,
                instrument=Instrument.from_symbol("BTC/USDT"),
                timeframe=self.bars.timeframe,
                cash=Decimal(10_000),
                maker_fee=Decimal(fee),
                taker_fee=Decimal(fee),
            )
        )


_LOADED: dict[str, Series] = {}


def series(shared_data: Path, name: str) -> Series:
    if name not in _LOADED:
        path, rows = SERIES[name]
        _LOADED[name] = Series(read_frame(shared_data / path).iloc[rows])
    return _LOADED[name]


def assert_same_run(market: Series, exact: BacktestResult, fast: VectorResult) -> None:
    assert fast.trade_count == exact.trade_count
    bars = [market.index[f.ts] for f in exact.fills]
    assert fast.fill_bars.tolist() == bars
    assert fast.fill_sides.tolist() == [f.side.sign for f in exact.fills]
    assert fast.fill_prices.tolist() == [float(f.price) for f in exact.fills]
    sizes = np.array([float(f.quantity) for f in exact.fills])
    np.testing.assert_allclose(fast.fill_quantities, sizes, rtol=REL_TOL, atol=0)
    rel = abs(Decimal(repr(fast.final_equity)) - exact.final_equity) / exact.final_equity
    assert rel < REL_TOL, f"final equity off by {rel:.2e}"
    assert float(fast.final_position) == pytest.approx(float(exact.final_position), rel=REL_TOL)


@pytest.mark.parametrize("fee", ["0", "0.001"])
@pytest.mark.parametrize("name", list(SERIES))
@pytest.mark.parametrize("strategy", list(PARAMS))
def test_family_matches_event_driven_engine_fill_for_fill(
    shared_data: Path, strategy: str, name: str, fee: str
) -> None:
    market = series(shared_data, name)
    params = PARAMS[strategy]
    exact = market.engine(strategy, params, fee)
    fast = run_vectorized(strategy, params, market.frame, cash=10_000, fee=Decimal(fee))
    assert exact.trade_count > 0
    assert_same_run(market, exact, fast)


def random_params(rng: random.Random, strategy: str) -> dict[str, object]:
    a = rng.randint(1, 15)
    if strategy in ("sma_cross", "ema_cross"):
        return {"fast": a, "slow": a + rng.randint(1, 40)}
    if strategy == "macd_trend":
        return {"fast": a + 1, "slow": a + 1 + rng.randint(1, 20),
                "signal": rng.randint(1, 12), "zero_filter": rng.random() < 0.5}  # fmt: skip
    if strategy == "rsi_reversion":
        lower = rng.randint(10, 45)
        return {"period": a + 1, "lower": lower, "upper": lower + rng.randint(1, 45)}
    if strategy == "supertrend":
        return {"atr_period": a, "multiplier": str(rng.choice([0.5, 1, 2, 3.5]))}
    params: dict[str, object] = {"period": a + 1, "k": str(rng.choice([0.1, 1, 1.5, 2, 3]))}
    if strategy == "bollinger_reversion":
        params["exit_at"] = rng.choice(["middle", "upper"])
    return params


@pytest.mark.parametrize("strategy", list(PARAMS))
def test_family_matches_engine_for_random_parameters(shared_data: Path, strategy: str) -> None:
    rng = random.Random(f"vectorized {strategy}")
    daily = ["BTC_USD-1d", "ETH_USD-1d", "LTC_USD-1d"]
    for name in daily:
        market = Series(read_frame(shared_data / f"candles/bitstamp/{name}.parquet"))
        for _ in range(3):
            params, fee = random_params(rng, strategy), rng.choice(["0", "0.0025"])
            fast = run_vectorized(strategy, params, market.bars, cash=10_000, fee=Decimal(fee))
            assert_same_run(market, market.engine(strategy, params, fee), fast)


def synthetic(closes: list[float], *, spread: float = 0.0) -> Series:
    """A gapless hourly series with these closes (open = previous close)."""
    c = np.array(closes, dtype=np.float64)
    o = np.concatenate(([c[0]], c[:-1]))
    frame = pd.DataFrame({
        "timestamp": 1_600_000_000_000 + 3_600_000 * np.arange(len(c), dtype=np.int64),
        "open": o, "high": np.maximum(o, c) + spread, "low": np.minimum(o, c) - spread,
        "close": c, "volume": np.ones(len(c)),
    })  # fmt: skip
    return Series(frame)


def test_sma_cross_ties_are_ties_like_the_exact_engine() -> None:
    # Windows whose means are equal in decimal but not in float sums (0.1 + 0.2 ...).
    rng = np.random.default_rng(5)
    steps = rng.choice([-0.1, 0.0, 0.1], 3000)
    closes = np.round(np.maximum(20 + np.cumsum(steps), 1), 1).tolist()
    market = synthetic(closes)
    for fast, slow in [(1, 3), (2, 4), (3, 6), (5, 10)]:
        params = {"fast": fast, "slow": slow}
        d = run_vectorized("sma_cross", params, market.bars, cash=10_000, fee=0)
        assert_same_run(market, market.engine("sma_cross", params, "0"), d)


def test_sma_cross_without_a_short_decimal_scale_uses_exact_integers() -> None:
    rng = np.random.default_rng(6)
    closes = (100 * np.exp(np.cumsum(rng.normal(0, 0.01, 800)))).tolist()  # 17 digits
    m, k = decimal_scale(np.array(closes))
    assert m.dtype == object and k > 12
    market = synthetic(closes)
    params = {"fast": 4, "slow": 16}
    fast = run_vectorized("sma_cross", params, market.bars, cash=10_000, fee=0.001)
    assert_same_run(market, market.engine("sma_cross", params, "0.001"), fast)


def test_sma_cross_that_could_overflow_int64_stays_exact() -> None:
    rng = np.random.default_rng(7)
    wave = 5_000 * np.sin(np.arange(3_000) / 100) + np.cumsum(rng.normal(0, 50, 3_000))
    closes = np.round(123_456 + wave, 8).tolist()
    m, _ = decimal_scale(np.array(closes))
    assert m.dtype == np.int64 and 2 * 300 * 1300 * int(np.abs(m).max()) >= 2**63
    market = synthetic(closes)
    params = {"fast": 300, "slow": 1300}
    fast = run_vectorized("sma_cross", params, market.bars, cash=10_000, fee=0)
    exact = market.engine("sma_cross", params, "0")
    assert exact.trade_count > 0
    assert_same_run(market, exact, fast)


@pytest.mark.parametrize("strategy", ["bollinger_breakout", "bollinger_reversion"])
def test_bollinger_on_tied_prices_matches_the_engine(strategy: str) -> None:
    # Whole-number prices: closes often equal a band exactly, and flat windows occur.
    rng = np.random.default_rng(8)
    market = synthetic(rng.integers(100, 104, 1500).astype(float).tolist())
    for period, k in [(2, "1"), (4, "0.5"), (5, "1"), (8, "2")]:
        params: dict[str, object] = {"period": period, "k": k}
        if strategy == "bollinger_reversion":
            params["exit_at"] = "middle"
        fast = run_vectorized(strategy, params, market.bars, cash=10_000, fee=0.001)
        assert_same_run(market, market.engine(strategy, params, "0.001"), fast)


def test_indicators_replay_the_incremental_ones_bit_for_bit(shared_data: Path) -> None:
    market = series(shared_data, "bitstamp BTC/USD 1d")
    ind, candles = Indicators(market.bars), market.candles

    def replay(indicator: Any, read: Callable[[Any], float], bars: bool = False) -> list[float]:
        out = []
        for c in candles:
            indicator.update(c if bars else c.close)
            out.append(read(indicator) if indicator.ready else math.nan)
        return out

    def same(fast: FloatArray, slow: list[float]) -> None:
        assert np.array_equal(fast, np.array(slow), equal_nan=True)  # ==, not approx

    same(ind.ema(9), replay(EMA(9), lambda i: i.value))
    same(ind.rsi(14), replay(RSI(14), lambda i: i.value))
    same(ind.atr(10), replay(ATR(10), lambda i: i.value, bars=True))
    line, hist = ind.macd(12, 26, 9)
    same(hist, replay(MACD(12, 26, 9), lambda i: i.histogram))
    same(np.where(np.isnan(hist), np.nan, line), replay(MACD(12, 26, 9), lambda i: i.macd))
    same(ind.supertrend(7, 2.5), replay(SuperTrend(7, 2.5), lambda i: i.direction, bars=True))
    # Bands are summed in bulk (last bits may differ), but never on the wrong side of a close.
    close = market.bars.close
    for fast, read in zip(ind.bollinger(20, 2.0), ("middle", "upper", "lower"), strict=True):
        slow = np.array(replay(BollingerBands(20, 2.0), attrgetter(read)), dtype=np.float64)
        np.testing.assert_allclose(fast, slow, rtol=1e-12)
        assert np.array_equal(np.sign(close - fast), np.sign(close - slow), equal_nan=True)


def test_decimal_scale_finds_the_printed_decimals() -> None:
    m, k = decimal_scale(np.array([4261.48, 0.1, 3.0]))
    assert k == 2 and m.tolist() == [426148, 10, 300]
    m, k = decimal_scale(np.array([0.00001234, 2.5]))
    assert k == 8 and m.tolist() == [1234, 250_000_000]


# --- the simulator on hand-made cases ---------------------------------------------------

OPEN = [10.0, 10.0, 20.0, 40.0, 20.0, 10.0]
CLOSE = [10.0, 20.0, 40.0, 20.0, 10.0, 5.0]


def run(entries: list[int], exits: list[int], **kw: object) -> VectorResult:
    e, x = np.zeros(6, bool), np.zeros(6, bool)
    e[entries], x[exits] = True, True
    return simulate(OPEN, CLOSE, e, x, **{"cash": 100, "fee": 0, **kw})  # type: ignore[arg-type]


def test_simulate_fills_at_the_next_open_and_marks_to_the_last_close() -> None:
    r = run([0], [2])  # buy at open[1] = 10, sell at open[3] = 40
    assert r.fill_bars.tolist() == [1, 3] and r.fill_prices.tolist() == [10.0, 40.0]
    assert r.final_equity == pytest.approx(400) and r.final_position == 0
    assert r.equity.tolist() == pytest.approx([100, 200, 400, 400, 400, 400])
    held = run([1], [])
    assert held.final_position == pytest.approx(5) and held.final_equity == pytest.approx(25)


def test_simulate_ignores_entries_while_long_exits_while_flat_and_the_last_bar() -> None:
    r = run([0, 1, 3, 5], [0, 2, 4])  # bar 0: entry and exit while flat -> entry
    assert r.fill_bars.tolist() == [1, 3, 4, 5] and r.fill_sides.tolist() == [1, -1, 1, -1]
    assert run([5], []).trade_count == 0


def test_simulate_pays_fees_both_ways_and_rounds_down_to_the_lot() -> None:
    r = run([0], [2], fee=0.01, lot_step=Decimal("0.1"))
    qty = 9.9  # 100 / (10 * 1.01) = 9.90099.. -> 9.9 lots of 0.1
    assert r.fill_quantities.tolist() == pytest.approx([qty, qty])
    cash = 100 - qty * 10 * 1.01 + qty * 40 * 0.99
    assert r.final_cash == pytest.approx(cash) and r.final_equity == pytest.approx(cash)


def test_simulate_spends_a_fraction_and_stops_when_less_than_a_lot_is_affordable() -> None:
    r = run([0], [2], fraction=0.5)
    assert r.fill_quantities.tolist() == pytest.approx([5, 5]) and r.final_equity == 250
    poor = run([0], [2], cash=5, lot_step=Decimal(1))  # 5 quote buys no whole lot at 10
    assert poor.trade_count == 0 and poor.final_equity == 5


# --- refusals --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> Bars:
    return synthetic([10.0 + (i % 7) for i in range(100)]).bars


def test_every_family_is_registered_and_checked() -> None:
    assert set(FAMILIES) == set(PARAMS)
    assert supports("sma_cross") and not supports("donchian_breakout")


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        ("no_such_strategy", {}, "unknown strategy"),
        ("sma_cross", {"fast": 30, "slow": 10}, "must be smaller"),
        ("sma_cross", {"fast": 0}, "at least 1"),
        ("bollinger_breakout", {"k": "wide"}, "must be a number"),
        ("bollinger_reversion", {"exit_at": "lower"}, "must be one of"),
        ("donchian_breakout", {}, "event-driven"),
    ],
)
def test_bad_strategy_or_params_are_refused_like_the_engine(
    small: Bars, strategy: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        run_vectorized(strategy, params, small, cash=10_000, fee=0)


def test_bad_bars_are_data_errors(small: Bars) -> None:
    with pytest.raises(DataError, match="at least one bar"):
        Bars.from_arrays([], [], [], [])
    with pytest.raises(DataError, match="has 3 values"):
        Bars.from_arrays([1, 2], [1, 2, 3], [1, 2], [1, 2])
    with pytest.raises(DataError, match="NaN"):
        Bars.from_arrays([1, 2], [1, 2], [1, 2], [1, float("nan")])
    with pytest.raises(DataError, match="lacks column"):
        run_vectorized("sma_cross", {}, pd.DataFrame({"close": [1.0]}), cash=1, fee=0)
    with pytest.raises(DataError, match="one value per bar"):
        simulate(small.open, small.close[:-1], np.zeros(100, bool), np.zeros(100, bool),
                 cash=10_000, fee=0)  # fmt: skip


def test_bad_money_is_refused(small: Bars) -> None:
    with pytest.raises(ValidationError, match="cash"):
        run_vectorized("sma_cross", {}, small, cash=0, fee=0)
    with pytest.raises(ValidationError, match="fee"):
        run_vectorized("sma_cross", {}, small, cash=10_000, fee=1)


def test_signals_honour_the_warm_up_and_indicators_are_reused(small: Bars) -> None:
    ind = Indicators(small)
    sig = signals("sma_cross", {"fast": 3, "slow": 12}, ind)
    assert not (sig.entries[:12] | sig.exits[:12]).any() and sig.entries.any()
    first = ind.window_sums(12, False)
    assert ind.window_sums(12, False) is first
