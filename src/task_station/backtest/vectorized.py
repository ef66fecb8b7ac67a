"""The vectorized fast path: a strategy's rule as whole-array signals, filled like the
paper venue by a long-only, all-in/all-out simulator.

A family's signal function reads OHLCV float64 arrays and the strategy's validated
parameters and returns boolean ``entries``/``exits``, decided at bar t's close and
filled at bar t+1's open, with the strategy's warm-up. ``simulate`` then applies the
rules of ``LongOnlySignal`` and the venue: an entry only when flat spends ``fraction``
of the quote balance on a market buy (fee included, size rounded down to the lot
step), an exit only when long sells everything, both at the next open with the taker
fee; a signal on the last bar never fills; the final equity marks the position to the
last close.

Money is float64 here (ARCHITECTURE allows it for vectorized backtests), and
``tests/backtest/test_vectorized.py`` holds every family to the exact engine: the same
fills at the same bars and prices, sizes and final equity within a relative 1e-9 (about
1e-13 measured). The float error is absolute, roughly fills x 1e-16 x the largest
equity reached, so only a run that loses nearly all its money (and ends holding a few
lots) drifts further in relative terms.

Decisions are exact, not approximately right: ``sma_cross`` compares
``sum_fast * slow`` with ``sum_slow * fast`` in integers (prices scaled by their decimal
places), as the strategy does in ``Decimal``; the float families replay the incremental
indicators' float operations in the same order (the exponential smoothers run as one
Python-level recursion per series), so their values are bit-identical; Bollinger bands
are computed in bulk and re-computed the incremental way (``math.fsum``) on the few
bars where the close lies within the bulk computation's error bound of a band.

Vectorized: sma_cross, ema_cross, macd_trend, rsi_reversion, bollinger_breakout,
bollinger_reversion, supertrend. Left out, and why:

- donchian_breakout: sizes each entry by equity / ATR, capped at 98 % of the cash (so
  a gap up can leave the buy unfilled), and protects it with a stop-market order placed
  at the fill price that triggers inside a later bar; that is fill- and position-
  dependent, not an all-in/all-out signal.
- grid, dca, twap, vwap, market_making, rebalancing, momentum_rotation, pairs_trading
  and the arbitrage families: resting limit orders, schedules, partial positions or
  several symbols.

``backtest.sweep`` runs those through the event-driven engine instead.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.domain.errors import DataError, ValidationError
from task_station.strategies.catalog import StrategyCatalog
from task_station.strategies.params import ParamValue

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: The paper venue's lot step when the instrument declares none (``matching.scale``).
DEFAULT_LOT_STEP = Decimal("1e-12")

_U = 2.0**-53  # unit roundoff of float64
T = TypeVar("T")
_CATALOG = StrategyCatalog()


# --- input ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Bars:
    """OHLCV float64 arrays of one series (read-only copies), oldest first.

    ``timestamp`` (bar open, ms UTC) is optional; ``timeframe`` names the bar spacing
    (for annualised ratios and for the event-driven fallback).
    """

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    timestamp: IntArray | None = None
    timeframe: str = "1h"

    def __post_init__(self) -> None:
        n = len(self.close)
        if n == 0:
            raise DataError("a vectorized backtest needs at least one bar")
        for name in ("open", "high", "low", "close", "volume"):
            values = getattr(self, name)
            if values.ndim != 1 or len(values) != n:
                raise DataError(f"bar column {name!r} has {len(values)} values, close has {n}")
            if not np.isfinite(values).all():
                raise DataError(f"bar column {name!r} holds NaN or infinite values")
        if (self.open <= 0).any() or (self.close <= 0).any():
            raise DataError("open and close prices must be positive")
        if self.timestamp is not None and len(self.timestamp) != n:
            raise DataError(f"timestamp has {len(self.timestamp)} values, close has {n}")
        if self.timeframe not in TIMEFRAME_SECONDS:
            raise ValidationError(f"unknown timeframe {self.timeframe!r}")

    def __len__(self) -> int:
        return len(self.close)

    @classmethod
    def from_arrays(
        cls,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike | None = None,
        *,
        timestamp: npt.ArrayLike | None = None,
        timeframe: str = "1h",
    ) -> Bars:
        """Copy plain arrays (``volume`` defaults to zeros)."""
        c = _column("close", close)
        v = np.zeros(len(c)) if volume is None else _column("volume", volume)
        ts = None if timestamp is None else np.array(timestamp, dtype=np.int64)
        if ts is not None:
            ts.setflags(write=False)
        o, h, lo = (_column(n, a) for n, a in (("open", open), ("high", high), ("low", low)))
        return cls(o, h, lo, c, v, ts, timeframe)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Bars:
        """The candle-file layout (``marketdata.candle_files.read_frame``)."""
        missing = [c for c in ("open", "high", "low", "close") if c not in frame.columns]
        if missing:
            raise DataError(f"candle frame lacks column(s) {', '.join(missing)}")
        ts = frame["timestamp"].to_numpy() if "timestamp" in frame.columns else None
        volume = frame["volume"].to_numpy() if "volume" in frame.columns else None
        o, h, lo, c = (frame[n].to_numpy() for n in ("open", "high", "low", "close"))
        return cls.from_arrays(o, h, lo, c, volume, timestamp=ts, timeframe=_timeframe_of(ts))


def _column(name: str, values: npt.ArrayLike) -> FloatArray:
    try:
        out = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"bar column {name!r} is not numeric: {exc}") from None
    out.setflags(write=False)
    return out


def _timeframe_of(ts: npt.NDArray[Any] | None) -> str:
    if ts is None or len(ts) < 2:
        return "1h"
    steps, counts = np.unique(np.diff(ts.astype(np.int64)), return_counts=True)
    step_ms = int(steps[np.argmax(counts)])
    names = [k for k, s in TIMEFRAME_SECONDS.items() if s * 1000 == step_ms]
    if not names:
        raise DataError(f"bars are {step_ms} ms apart, which is no known timeframe")
    return names[0]


def as_bars(bars: Bars | pd.DataFrame) -> Bars:
    return bars if isinstance(bars, Bars) else Bars.from_frame(bars)


# --- indicators, exact and memoised ---------------------------------------------------


def decimal_scale(values: FloatArray) -> tuple[npt.NDArray[Any], int]:
    """``values`` as integers ``m`` with ``values == m / 10**k`` exactly, smallest k.

    Each float's shortest repr (the ``Decimal`` the engine sees) is then exactly
    ``m * 10**-k``: with at most 15 significant digits, ``m / 10**k`` rounding to the
    float makes it the float's only such decimal. int64 up to k = 12, else Python ints.
    """
    for k in range(13):
        scale = 10.0**k
        m = np.round(values * scale)
        if np.abs(m).max() >= 1e15:
            break
        if np.array_equal(m / scale, values):
            return m.astype(np.int64), k
    exact = [Decimal(repr(v)) for v in values.tolist()]
    k = max(0, *(-int(d.as_tuple().exponent) for d in exact))
    return np.array([int(d.scaleb(k)) for d in exact], dtype=object), k


def smooth(values: FloatArray, period: int, alpha: float, start: int = 0) -> FloatArray:
    """``strategies.ta``'s ``Smoother`` bit for bit: a running sum of the first ``period``
    values divided by ``period``, then ``v += alpha * (x - v)``; NaN before."""
    out = np.full(len(values), np.nan)
    first = start + period - 1
    if first >= len(values):
        return out
    seed = float(np.add.accumulate(values[start : first + 1])[-1]) / period

    def step(v: float, x: float, a: float = alpha) -> float:
        return v + a * (x - v)

    out[first:] = list(accumulate(values[first + 1 :].tolist(), step, initial=seed))
    return out


def _ema_alpha(period: int) -> float:
    return 2.0 / (period + 1)  # as strategies.ta._core.ema_alpha


def _wilder_alpha(period: int) -> float:
    return 1.0 / period  # as strategies.ta._core.wilder_alpha


class Indicators:
    """Indicator arrays of one ``Bars``, each computed once and kept (least recently
    used first out beyond ``max_bytes``), so a sweep reuses windows across combinations."""

    def __init__(self, bars: Bars, *, max_bytes: int = 1 << 30) -> None:
        self.bars = bars
        self.max_bytes = max_bytes
        self._memo: OrderedDict[tuple[object, ...], Any] = OrderedDict()
        self._bytes = 0

    def memo(self, key: tuple[object, ...], compute: Callable[[], T]) -> T:
        """``compute()``, or what it gave last time for ``key``."""
        if key in self._memo:
            self._memo.move_to_end(key)
            return cast(T, self._memo[key])
        value = compute()
        size = sum(a.nbytes for a in _arrays(value))
        while self._memo and self._bytes + size > self.max_bytes:
            _, old = self._memo.popitem(last=False)
            self._bytes -= sum(a.nbytes for a in _arrays(old))
        self._memo[key] = value
        self._bytes += size
        return value

    def scaled_close(self) -> tuple[npt.NDArray[Any], int]:
        return self.memo(("scaled",), lambda: decimal_scale(self.bars.close))

    def scaled_max(self) -> int:
        """The largest ``abs`` of the scaled closes (bounds sums and products)."""
        return self.memo(("scaled_max",), lambda: int(np.abs(self.scaled_close()[0]).max()))

    def window_sums(self, window: int, python_ints: bool = False) -> npt.NDArray[Any]:
        """Sum of the last ``window`` scaled closes at each bar (0 before the warm-up).

        int64 arithmetic wraps modulo 2**64; a caller that knows the true sums fit in
        int64 gets them exactly even where the running total has wrapped. With
        ``python_ints`` the sums are exact Python integers (an object array).
        """

        def compute() -> npt.NDArray[Any]:
            m, _ = self.scaled_close()
            m = m.astype(object) if python_ints else m
            cum = np.concatenate((np.zeros(1, dtype=m.dtype), np.cumsum(m)))
            out = np.zeros(len(m), dtype=m.dtype)
            out[window - 1 :] = cum[window:] - cum[: len(cum) - window]
            return out

        return self.memo(("window_sum", window, python_ints), compute)

    def ema(self, period: int) -> FloatArray:
        return self.memo(
            ("ema", period), lambda: smooth(self.bars.close, period, _ema_alpha(period))
        )

    def rsi(self, period: int) -> FloatArray:
        return self.memo(("rsi", period), lambda: _rsi(self.bars.close, period))

    def macd(self, fast: int, slow: int, signal: int) -> tuple[FloatArray, FloatArray]:
        def compute() -> tuple[FloatArray, FloatArray]:
            line = self.ema(fast) - self.ema(slow)
            sig = smooth(line, signal, _ema_alpha(signal), start=slow - 1)
            return line, line - sig

        return self.memo(("macd", fast, slow, signal), compute)

    def bollinger(self, period: int, mult: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        return self.memo(
            ("bollinger", period, mult), lambda: _bollinger(self.bars.close, period, mult)
        )

    def atr(self, period: int) -> FloatArray:
        def compute() -> FloatArray:
            b = self.bars
            tr = np.zeros(len(b))
            prev = b.close[:-1]
            tr[1:] = np.maximum(
                np.maximum(b.high[1:] - b.low[1:], np.abs(b.high[1:] - prev)),
                np.abs(b.low[1:] - prev),
            )
            return smooth(tr, period, _wilder_alpha(period), start=1)

        return self.memo(("atr", period), compute)

    def supertrend(self, period: int, mult: float) -> FloatArray:
        return self.memo(
            ("supertrend", period, mult), lambda: _supertrend(self.bars, self.atr(period), mult)
        )


def _arrays(value: Any) -> list[np.ndarray[Any, Any]]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, tuple):
        return [a for v in value for a in _arrays(v)]
    return []


def _rsi(close: FloatArray, period: int) -> FloatArray:
    change = np.zeros(len(close))
    change[1:] = close[1:] - close[:-1]
    alpha = _wilder_alpha(period)
    gain = smooth(np.where(change > 0, change, 0.0), period, alpha, start=1)
    loss = smooth(np.where(change < 0, -change, 0.0), period, alpha, start=1)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 100.0 * gain / total, 50.0)
    out[np.isnan(gain)] = np.nan
    return out


def _bollinger(
    close: FloatArray, period: int, mult: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Middle, upper and lower bands exactly as ``BollingerBands`` computes them."""
    n = len(close)
    middle, upper, lower = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    if n < period:
        return middle, upper, lower
    windows = sliding_window_view(close, period)
    rows = max(1, (1 << 22) // period)  # bound the temporaries to ~32 MB
    for r0 in range(0, len(windows), rows):
        w = windows[r0 : r0 + rows]
        t = slice(r0 + period - 1, r0 + period - 1 + len(w))
        x = close[t]
        mean = w.sum(axis=1) / period
        dev = w - mean[:, None]
        ss = (dev * dev).sum(axis=1)
        sd = np.sqrt(ss / period)
        hi, lo = w.max(axis=1), w.min(axis=1)
        flat = hi == lo
        mean = np.where(flat, x, mean)
        sd = np.where(flat, 0.0, sd)
        # Error bound of this bulk computation against the incremental one.
        big = np.maximum(np.abs(hi), np.abs(lo))
        d_mean = (period + 2) * _U * big
        d_ss = 2 * (period + 5) * _U * ss + period * d_mean * d_mean
        with np.errstate(divide="ignore", invalid="ignore"):
            d_sd = np.minimum(
                np.sqrt(d_ss / period), np.where(sd > 0, d_ss / (period * sd), np.inf)
            )
        tol = 4 * (d_mean + mult * d_sd + 4 * _U * (np.abs(mean) + mult * sd + np.abs(x)))
        width = mult * sd
        up, down = mean + width, mean - width
        near = ~flat & (
            (np.abs(x - mean) <= tol) | (np.abs(x - up) <= tol) | (np.abs(x - down) <= tol)
        )
        for i in np.flatnonzero(near).tolist():
            mean[i], up[i], down[i] = _exact_bands(w[i].tolist(), period, mult)
        middle[t], upper[t], lower[t] = mean, up, down
    return middle, upper, lower


def _exact_bands(window: list[float], period: int, mult: float) -> tuple[float, float, float]:
    mean = math.fsum(window) / period
    sd = math.sqrt(math.fsum((v - mean) * (v - mean) for v in window) / period)
    width = mult * sd
    return mean, mean + width, mean - width


def _supertrend(bars: Bars, atr: FloatArray, mult: float) -> FloatArray:
    """SuperTrend's direction (+1 up, -1 down; NaN before the first ATR), as ``SuperTrend``."""
    n = len(bars)
    direction = np.full(n, np.nan)
    start = int(np.argmax(~np.isnan(atr))) if not np.isnan(atr).all() else n
    if start >= n:
        return direction
    hl2 = (bars.high + bars.low) / 2
    offset = mult * atr
    bu, bl = (hl2 + offset).tolist(), (hl2 - offset).tolist()
    cl = bars.close.tolist()
    fu, fl, trend = bu[start], bl[start], -1
    trends = [trend]
    for i in range(start + 1, n):  # the band ratchet reads its own previous output
        prev_close = cl[i - 1]
        fu = bu[i] if bu[i] < fu or prev_close > fu else fu
        fl = bl[i] if bl[i] > fl or prev_close < fl else fl
        trend = (1 if cl[i] > fu else -1) if trend == -1 else (-1 if cl[i] < fl else 1)
        trends.append(trend)
    direction[start:] = trends
    return direction


# --- the families ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signals:
    """Entry and exit decisions at each bar's close, and the share of cash an entry spends."""

    entries: BoolArray
    exits: BoolArray
    fraction: float = 1.0


SignalFn = Callable[[Indicators, Mapping[str, ParamValue]], Signals]


def _crosses(d: FloatArray | npt.NDArray[Any], first: int) -> tuple[BoolArray, BoolArray]:
    """``d[t-1] <= 0 < d[t]`` (entry) and ``d[t-1] >= 0 > d[t]`` (exit), for ``t > first``
    where ``d`` is defined from ``first`` on (the strategies' ``prev is None`` bar)."""
    tail = d[first:]
    return _sign_crosses(
        np.asarray(tail > 0, dtype=bool), np.asarray(tail < 0, dtype=bool), first, len(d)
    )


def _sign_crosses(
    pos: BoolArray, neg: BoolArray, first: int, n: int
) -> tuple[BoolArray, BoolArray]:
    """``_crosses`` from the signs of ``d[first:]``."""
    entries, exits = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if first + 1 < n:
        entries[first + 1 :] = pos[1:] & ~pos[:-1]
        exits[first + 1 :] = neg[1:] & ~neg[:-1]
    return entries, exits


_BLOCK = 1 << 16  # elements per block: the int64 temporaries of a block stay in cache


def _int(p: Mapping[str, ParamValue], name: str) -> int:
    value = p[name]
    assert isinstance(value, int), name
    return value


def _float(p: Mapping[str, ParamValue], name: str) -> float:
    value = p[name]
    assert isinstance(value, Decimal | int), name
    return float(value)


def _sma_cross(ind: Indicators, p: Mapping[str, ParamValue]) -> Signals:
    fast, slow = _int(p, "fast"), _int(p, "slow")
    m, _ = ind.scaled_close()
    # |d| <= |sum_fast| * slow + |sum_slow| * fast <= 2 * fast * slow * max|m| must fit.
    fits = m.dtype == np.int64 and 2 * fast * slow * ind.scaled_max() < 2**63
    sf, ss = ind.window_sums(fast, not fits), ind.window_sums(slow, not fits)
    n, first = len(sf), slow - 1
    pos, neg = np.zeros(max(0, n - first), bool), np.zeros(max(0, n - first), bool)
    for start in range(first, n, _BLOCK):  # d = sum_fast * slow - sum_slow * fast
        stop = min(start + _BLOCK, n)
        d = sf[start:stop] * slow
        d -= ss[start:stop] * fast
        pos[start - first : stop - first] = d > 0
        neg[start - first : stop - first] = d < 0
    return Signals(*_sign_crosses(pos, neg, first, n))


def _ema_cross(ind: Indicators, p: Mapping[str, ParamValue]) -> Signals:
    d = ind.ema(_int(p, "fast")) - ind.ema(_int(p, "slow"))
    return Signals(*_crosses(d, _int(p, "slow") - 1), _float(p, "fraction"))


def _macd_trend(ind: Indicators, p: Mapping[str, ParamValue]) -> Signals:
    slow, signal = _int(p, "slow"), _int(p, "signal")
    line, hist = ind.macd(_int(p, "fast"), slow, signal)
    entries, exits = _crosses(hist, slow + signal - 2)
    if p["zero_filter"]:
        entries &= line > 0
    return Signals(entries, exits, _float(p, "fraction"))


def _rsi_reversion(ind: Indicators, p: Mapping[str, ParamValue]) -> Signals:
    rsi = ind.rsi(_int(p, "period"))
    with np.errstate(invalid="ignore"):
        entries, exits = rsi < _float(p, "lower"), rsi > _float(p, "upper")
    return Signals(entries, exits, _float(p, "fraction"))


def _bollinger_breakout(ind: Indicators, p: Mapping[str, ParamValue]) -> Signals:
    middle, upper, _ = ind.bollinger(_int(p, "period"), _float(p, "k"))
    close = ind.bars.close
    with np.errstate(invalid="ignore"):
        entries = close > upper
        exits = ~entries & (close < middle)
    return Signals(entries, exits, _float(p, "fraction"))


def _bollinger_reversion(ind: Indicators, p: Mapping[str, ParamValue]) -> Signals:
    middle, upper, lower = ind.bollinger(_int(p, "period"), _float(p, "k"))
    close = ind.bars.close
    target = middle if p["exit_at"] == "middle" else upper
    with np.errstate(invalid="ignore"):
        entries = close < lower
        exits = ~entries & (close > target)
    return Signals(entries, exits, _float(p, "fraction"))


def _supertrend_follower(ind: Indicators, p: Mapping[str, ParamValue]) -> Signals:
    direction = ind.supertrend(_int(p, "atr_period"), _float(p, "multiplier"))
    entries, exits = np.zeros(len(direction), bool), np.zeros(len(direction), bool)
    entries[1:] = (direction[:-1] == -1) & (direction[1:] == 1)
    exits[1:] = (direction[:-1] == 1) & (direction[1:] == -1)
    return Signals(entries, exits, _float(p, "fraction"))


FAMILIES: dict[str, SignalFn] = {
    "sma_cross": _sma_cross,
    "ema_cross": _ema_cross,
    "macd_trend": _macd_trend,
    "rsi_reversion": _rsi_reversion,
    "bollinger_breakout": _bollinger_breakout,
    "bollinger_reversion": _bollinger_reversion,
    "supertrend": _supertrend_follower,
}


def supports(strategy: str) -> bool:
    """Whether ``strategy`` has a vectorized form."""
    return strategy in FAMILIES


def validate(strategy: str, params: Mapping[str, object]) -> dict[str, ParamValue]:
    """The strategy's validated parameters (``ValidationError`` as the engine raises it)."""
    built = _CATALOG.build(strategy, params)
    if not supports(strategy):
        raise ValidationError(
            f"{strategy} has no vectorized form (vectorized: {', '.join(sorted(FAMILIES))}); "
            "run it through the event-driven backtest"
        )
    return dict(built.p)


def signals(
    strategy: str, params: Mapping[str, object], bars: Bars | Indicators | pd.DataFrame
) -> Signals:
    """Entry and exit arrays of ``strategy`` with ``params`` over ``bars``."""
    p = validate(strategy, params)
    ind = bars if isinstance(bars, Indicators) else Indicators(as_bars(bars))
    return FAMILIES[strategy](ind, p)


# --- the simulator --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class VectorResult:
    """A vectorized run: money as float64, one equity value per bar (after its close)."""

    final_equity: float
    final_cash: float
    final_position: float
    equity: FloatArray
    fill_bars: IntArray  # the bar each fill happened in (at its open)
    fill_sides: npt.NDArray[np.int8]  # +1 buy, -1 sell
    fill_prices: FloatArray
    fill_quantities: FloatArray

    @property
    def trade_count(self) -> int:
        """Number of fills (what ``BacktestResult.trade_count`` counts)."""
        return len(self.fill_bars)


def simulate(
    open: npt.ArrayLike,
    close: npt.ArrayLike,
    entries: npt.ArrayLike,
    exits: npt.ArrayLike,
    *,
    cash: float | Decimal,
    fee: float | Decimal,
    lot_step: Decimal = DEFAULT_LOT_STEP,
    fraction: float = 1.0,
) -> VectorResult:
    """Fill ``entries``/``exits`` long-only, all-in/all-out, at the next bar's open.

    ``fee`` is the taker fee rate (0.001 = 10 bps) paid on both sides; an entry spends
    ``fraction`` of the cash, fee included, on a size rounded down to ``lot_step``.
    """
    o = np.asarray(open, dtype=np.float64)
    c = np.asarray(close, dtype=np.float64)
    e, x = np.asarray(entries, dtype=bool), np.asarray(exits, dtype=bool)
    n = len(c)
    if not (o.ndim == c.ndim == e.ndim == x.ndim == 1) or n == 0:
        raise DataError("open, close, entries and exits must be non-empty 1-D arrays")
    if not len(o) == len(e) == len(x) == n:
        raise DataError(
            f"open, close, entries and exits need one value per bar, got "
            f"{len(o)}, {n}, {len(e)}, {len(x)}"
        )
    cash0, rate = _money(cash, fee, fraction, lot_step)
    bars, sides = _effective(e, x)
    bars += 1  # the fill bar
    prices = o[bars]
    cash_after, qty_after = _trade(prices, cash0, rate, lot_step, fraction)
    k = len(cash_after)
    bars, sides, prices = bars[:k], sides[:k], prices[:k]
    lengths = np.diff(np.concatenate(([0], bars, [n])))
    equity = np.repeat(np.concatenate(([0.0], qty_after)), lengths)
    final_qty = float(equity[-1])
    equity *= c
    equity += np.repeat(np.concatenate(([cash0], cash_after)), lengths)
    quantities = qty_after.copy()
    quantities[1::2] = qty_after[0::2][: k // 2]  # a sell sells what the buy bought
    return VectorResult(
        final_equity=float(equity[-1]),
        final_cash=float(cash_after[-1]) if k else cash0,
        final_position=final_qty,
        equity=equity,
        fill_bars=bars,
        fill_sides=sides,
        fill_prices=prices,
        fill_quantities=quantities,
    )


def _money(
    cash: float | Decimal, fee: float | Decimal, fraction: float, lot_step: Decimal
) -> tuple[float, float]:
    cash_f, fee_f = float(cash), float(fee)
    if not (math.isfinite(cash_f) and cash_f > 0):
        raise ValidationError(f"starting cash must be positive, got {cash}")
    if not 0 <= fee_f < 1:
        raise ValidationError(f"the fee must be in [0, 1), got {fee}")
    if not 0 < fraction <= 1:
        raise ValidationError(f"fraction must be in (0, 1], got {fraction}")
    if not lot_step > 0:
        raise ValidationError(f"the lot step must be positive, got {lot_step}")
    return cash_f, fee_f


def _effective(entries: BoolArray, exits: BoolArray) -> tuple[IntArray, npt.NDArray[np.int8]]:
    """Signal bars that change the position (flat -> long -> flat ...), last bar excluded.

    After any signal the position is what the signal asks for (an entry while long and an
    exit while flat change nothing), so a signal is effective exactly when it differs
    from the previous one.
    """
    e, x = entries[:-1], exits[:-1]
    bars = np.flatnonzero(e | x)
    both = e[bars] & x[bars]
    side = np.where(e[bars], 1, -1).astype(np.int8)
    if both.any():  # entry when flat, exit when long: the bar flips the position
        state = -1
        for i in range(len(side)):
            side[i] = state = -state if both[i] else side[i]
    keep = side != np.concatenate(([-1], side[:-1]))
    return bars[keep].astype(np.int64), side[keep]


def _trade(
    prices: FloatArray, cash: float, fee: float, lot_step: Decimal, fraction: float
) -> tuple[FloatArray, FloatArray]:
    """Cash and position after each fill (buys at even, sells at odd positions), as the
    venue books them. Stops at an entry that buys less than one lot: the venue cancels
    it, and the cash cannot grow while flat.

    Sizes compound, so the lots are found in a loop over round trips (not bars) of a
    few float operations each; the cash path is then rebuilt with array operations in
    the same order, bit for bit the loop's.
    """
    exp = int(lot_step.normalize().as_tuple().exponent)
    power_of_ten = exp <= 0 and lot_step == Decimal(1).scaleb(exp)
    per_lot = 10.0**-exp if power_of_ten else 1 / float(lot_step)  # 10**k is exact
    buys, sells = prices[0::2], prices[1::2]
    unit_cost = buys * (1.0 + fee)  # quote for one unit, fee included
    unit_gain = sells * (1.0 - fee) - unit_cost[: len(sells)]  # per unit, round trip
    # The venue floors an exact quotient (``lots_for_quote``); the float one is a few
    # roundings off, so a whole number of lots must not come out a hair below itself.
    per_lot_up = per_lot * (1 + 2**-50)
    cash0, lots = cash, list[int]()
    add = lots.append
    for cost, gain in zip(unit_cost.tolist(), unit_gain.tolist(), strict=False):
        bought = math.floor(cash * fraction / cost * per_lot_up)
        if bought <= 0:
            break
        add(bought)
        cash += bought / per_lot * gain
    else:
        last = math.floor(cash * fraction / float(unit_cost[-1]) * per_lot_up) if len(buys) else 0
        if len(buys) > len(sells) and last > 0:
            add(last)  # the last entry is still open at the end
    k = len(lots)
    trips = min(k, len(sells))
    qty = np.array(lots, dtype=np.float64) / per_lot
    before = np.cumsum(np.concatenate(([cash0], qty[:trips] * unit_gain[:trips])))
    cash_after, qty_after = np.empty(k + trips), np.zeros(k + trips)
    cash_after[0::2] = before[:k] - qty * unit_cost[:k]
    cash_after[1::2] = before[1:]
    qty_after[0::2] = qty
    return cash_after, qty_after


# --- running a strategy ---------------------------------------------------------------


def run_vectorized(
    strategy: str,
    params: Mapping[str, object],
    bars: Bars | Indicators | pd.DataFrame,
    *,
    cash: float | Decimal,
    fee: float | Decimal,
    lot_step: Decimal = DEFAULT_LOT_STEP,
) -> VectorResult:
    """Backtest ``strategy`` on the fast path; ``fee`` is the taker rate (0.001 = 10 bps).

    Pass an ``Indicators`` to reuse indicator arrays across runs on the same bars.
    Raises ``ValidationError`` for an unknown strategy, bad parameters or a family
    without a vectorized form, ``DataError`` for unusable bars.
    """
    p = validate(strategy, params)
    ind = bars if isinstance(bars, Indicators) else Indicators(as_bars(bars))
    sig = FAMILIES[strategy](ind, p)
    b = ind.bars
    return simulate(
        b.open, b.close, sig.entries, sig.exits,
        cash=cash, fee=fee, lot_step=lot_step, fraction=sig.fraction,
    )  # fmt: skip
