"""Whole-series versions of the incremental indicators, for analysis and fast backtests.

Each function has the same definition, seeding and warm-up as its incremental class
(tests feed real candles through both and compare every bar): rows before the warm-up
ends are NaN. Inputs are float64: a close ``Series``, or a ``DataFrame`` with ``high``,
``low``, ``close``, ``volume`` columns (and ``timestamp`` in ms UTC, the shared candle
file layout, for the session VWAP). Outputs keep the input's index.

Recursive definitions (EMA, Wilder) run through pandas' compiled ``ewm(adjust=False)``
after the SMA seed; only SuperTrend's band ratchet, which branches on its own previous
output, is a loop, over plain arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from task_station.domain.errors import ValidationError
from task_station.strategies.ta._core import check_period, ema_alpha, wilder_alpha

FloatArray = npt.NDArray[np.float64]

_DAY_MS = 86_400_000


def _array(series: pd.Series) -> FloatArray:
    # A copy: pandas' copy-on-write hands out read-only views, and callers write NaNs.
    return np.array(series, dtype=np.float64)


def _columns(frame: pd.DataFrame, *names: str) -> list[FloatArray]:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValidationError(f"candle frame lacks column(s) {', '.join(missing)}")
    return [_array(frame[n]) for n in names]


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan, dtype=np.float64)


def seeded_smoothing(values: FloatArray, period: int, alpha: float, start: int = 0) -> FloatArray:
    """``v += alpha * (x - v)`` over ``values[start:]``, seeded at ``start + period - 1``
    with the mean of the first ``period`` values; NaN before."""
    out = _nan(len(values))
    first = start + period - 1
    if first >= len(values):
        return out
    seed = float(np.mean(values[start : first + 1]))
    tail = np.concatenate(([seed], values[first + 1 :]))
    out[first:] = pd.Series(tail).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def _rolling_mean(values: FloatArray, period: int) -> FloatArray:
    return pd.Series(values).rolling(period).mean().to_numpy(dtype=np.float64, copy=True)


def _rolling_max(values: FloatArray, period: int) -> FloatArray:
    return pd.Series(values).rolling(period).max().to_numpy(dtype=np.float64, copy=True)


def _rolling_min(values: FloatArray, period: int) -> FloatArray:
    return pd.Series(values).rolling(period).min().to_numpy(dtype=np.float64, copy=True)


def _rolling_sum(values: FloatArray, period: int) -> FloatArray:
    return pd.Series(values).rolling(period).sum().to_numpy(dtype=np.float64, copy=True)


def _series(values: FloatArray, index: pd.Index, name: str) -> pd.Series:
    return pd.Series(values, index=index, name=name)


def _frame(columns: dict[str, FloatArray], index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(columns, index=index)


def _true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    tr = _nan(len(close))
    prev = close[:-1]
    tr[1:] = np.maximum(
        np.maximum(high[1:] - low[1:], np.abs(high[1:] - prev)), np.abs(low[1:] - prev)
    )
    return tr


# --- moving averages ------------------------------------------------------------------


def sma(close: pd.Series, period: int = 20) -> pd.Series:
    check_period("period", period)
    return _series(_rolling_mean(_array(close), period), close.index, "sma")


def ema(close: pd.Series, period: int = 20) -> pd.Series:
    check_period("period", period)
    values = seeded_smoothing(_array(close), period, ema_alpha(period))
    return _series(values, close.index, "ema")


def wma(close: pd.Series, period: int = 20) -> pd.Series:
    check_period("period", period)
    x = _array(close)
    out = _nan(len(x))
    if len(x) >= period:
        weights = np.arange(1, period + 1, dtype=np.float64)
        out[period - 1 :] = sliding_window_view(x, period) @ weights / weights.sum()
    return _series(out, close.index, "wma")


# --- momentum -------------------------------------------------------------------------


def rsi(close: pd.Series, period: int = 14) -> pd.Series:
    check_period("period", period)
    x = _array(close)
    change = np.zeros(len(x))
    change[1:] = np.diff(x)
    gain = seeded_smoothing(np.where(change > 0, change, 0.0), period, wilder_alpha(period), 1)
    loss = seeded_smoothing(np.where(change < 0, -change, 0.0), period, wilder_alpha(period), 1)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 100.0 * gain / total, 50.0)
    out[np.isnan(gain)] = np.nan
    return _series(out, close.index, "rsi")


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    for name, value in (("fast", fast), ("slow", slow), ("signal", signal)):
        check_period(name, value)
    if fast >= slow:
        raise ValidationError(f"MACD fast ({fast}) must be shorter than slow ({slow})")
    x = _array(close)
    line = seeded_smoothing(x, fast, ema_alpha(fast)) - seeded_smoothing(x, slow, ema_alpha(slow))
    sig = seeded_smoothing(line, signal, ema_alpha(signal), start=slow - 1)
    line[np.isnan(sig)] = np.nan
    return _frame({"macd": line, "signal": sig, "histogram": line - sig}, close.index)


def stochastic(
    frame: pd.DataFrame, period: int = 14, smooth_k: int = 3, d_period: int = 3
) -> pd.DataFrame:
    for name, value in (("period", period), ("smooth_k", smooth_k), ("d_period", d_period)):
        check_period(name, value)
    high, low, close = _columns(frame, "high", "low", "close")
    hh, ll = _rolling_max(high, period), _rolling_min(low, period)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(hh > ll, 100.0 * (close - ll) / (hh - ll), 50.0)
    raw[np.isnan(hh)] = np.nan
    k = _rolling_mean(raw, smooth_k)
    d = _rolling_mean(k, d_period)
    k[np.isnan(d)] = np.nan
    return _frame({"k": k, "d": d}, frame.index)


# --- volatility and channels ----------------------------------------------------------


def atr(frame: pd.DataFrame, period: int = 14) -> pd.Series:
    check_period("period", period)
    high, low, close = _columns(frame, "high", "low", "close")
    values = seeded_smoothing(_true_range(high, low, close), period, wilder_alpha(period), 1)
    return _series(values, frame.index, "atr")


def bollinger(close: pd.Series, period: int = 20, mult: float = 2.0) -> pd.DataFrame:
    """Two-pass population deviation over each window (see ``BollingerBands``)."""
    check_period("period", period)
    x = _array(close)
    n = len(x)
    middle, sd = _nan(n), _nan(n)
    if n >= period:
        windows = sliding_window_view(x, period)
        mean = _rolling_mean(x, period)[period - 1 :]
        dev = windows - mean[:, None]
        flat = windows.max(axis=1) == windows.min(axis=1)
        middle[period - 1 :] = np.where(flat, x[period - 1 :], mean)
        sd[period - 1 :] = np.where(flat, 0.0, np.sqrt((dev * dev).mean(axis=1)))
    width = float(mult) * sd
    upper, lower = middle + width, middle - width
    span = upper - lower
    with np.errstate(invalid="ignore", divide="ignore"):
        percent_b = np.where(span > 0, (x - lower) / span, 0.5)
        bandwidth = np.where(middle != 0, span / middle, 0.0)
    percent_b[np.isnan(middle)] = np.nan
    bandwidth[np.isnan(middle)] = np.nan
    return _frame(
        {
            "middle": middle,
            "upper": upper,
            "lower": lower,
            "percent_b": percent_b,
            "bandwidth": bandwidth,
        },
        close.index,
    )


def keltner(
    frame: pd.DataFrame, period: int = 20, atr_period: int = 10, mult: float = 2.0
) -> pd.DataFrame:
    check_period("period", period)
    middle = _array(ema(frame["close"], period))
    band = float(mult) * _array(atr(frame, atr_period))
    middle[np.isnan(band)] = np.nan
    return _frame({"middle": middle, "upper": middle + band, "lower": middle - band}, frame.index)


def donchian(
    frame: pd.DataFrame, period: int = 20, *, include_current: bool = True
) -> pd.DataFrame:
    """``include_current=False`` gives the channel of the previous ``period`` bars."""
    check_period("period", period)
    high, low = _columns(frame, "high", "low")
    upper, lower = _rolling_max(high, period), _rolling_min(low, period)
    if not include_current:
        upper = np.concatenate(([np.nan], upper[:-1]))
        lower = np.concatenate(([np.nan], lower[:-1]))
    return _frame({"upper": upper, "lower": lower, "middle": (upper + lower) / 2}, frame.index)


# --- trend ----------------------------------------------------------------------------


def adx(frame: pd.DataFrame, period: int = 14) -> pd.DataFrame:
    check_period("period", period)
    high, low, close = _columns(frame, "high", "low", "close")
    alpha = wilder_alpha(period)
    up = np.zeros(len(high))
    down = np.zeros(len(high))
    up[1:] = high[1:] - high[:-1]
    down[1:] = low[:-1] - low[1:]
    plus_dm = np.where((up > down) & (up > 0), up, 0.0)
    minus_dm = np.where((down > up) & (down > 0), down, 0.0)
    trs = seeded_smoothing(_true_range(high, low, close), period, alpha, 1)
    plus = seeded_smoothing(plus_dm, period, alpha, 1)
    minus = seeded_smoothing(minus_dm, period, alpha, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        plus_di = np.where(trs > 0, 100.0 * plus / trs, 0.0)
        minus_di = np.where(trs > 0, 100.0 * minus / trs, 0.0)
        total = plus_di + minus_di
        dx = np.where(total > 0, 100.0 * np.abs(plus_di - minus_di) / total, 0.0)
    dx[np.isnan(trs)] = np.nan
    adx_values = seeded_smoothing(dx, period, alpha, start=period)
    undefined = np.isnan(adx_values)
    plus_di[undefined] = np.nan
    minus_di[undefined] = np.nan
    return _frame({"plus_di": plus_di, "minus_di": minus_di, "adx": adx_values}, frame.index)


def supertrend(frame: pd.DataFrame, period: int = 10, mult: float = 3.0) -> pd.DataFrame:
    """``direction`` is +1 (up) / -1 (down); see ``SuperTrend`` for the definition."""
    check_period("period", period)
    high, low, close = _columns(frame, "high", "low", "close")
    atr_values = _array(atr(frame, period))
    hl2 = (high + low) / 2
    offset = float(mult) * atr_values
    basic_upper, basic_lower = hl2 + offset, hl2 - offset
    n = len(close)
    upper, lower, line, direction = _nan(n), _nan(n), _nan(n), _nan(n)
    start = period  # the first bar with an ATR
    if start < n:
        # The ratchet depends on its own previous output: a plain loop over lists.
        bu, bl, cl = basic_upper.tolist(), basic_lower.tolist(), close.tolist()
        fu, fl, trend = bu[start], bl[start], -1
        ups, lows, trends = [fu], [fl], [trend]
        for i in range(start + 1, n):
            prev_close = cl[i - 1]
            fu = bu[i] if bu[i] < fu or prev_close > fu else fu
            fl = bl[i] if bl[i] > fl or prev_close < fl else fl
            # Down turns up on a close above the upper band; up stays up unless below lower.
            rising = cl[i] > fu if trend == -1 else cl[i] >= fl
            trend = 1 if rising else -1
            ups.append(fu)
            lows.append(fl)
            trends.append(trend)
        upper[start:] = ups
        lower[start:] = lows
        direction[start:] = trends
        line[start:] = np.where(direction[start:] == 1, lower[start:], upper[start:])
    return _frame(
        {"value": line, "direction": direction, "upper": upper, "lower": lower}, frame.index
    )


def ichimoku(
    frame: pd.DataFrame,
    tenkan: int = 9,
    kijun: int = 26,
    senkou_b: int = 52,
    displacement: int = 26,
) -> pd.DataFrame:
    """Values known at each bar, as ``Ichimoku`` gives them: ``senkou_a``/``senkou_b``
    are the cloud at the bar (``leading_*`` shifted forward ``displacement``); ``chikou``
    is the close itself, never ``close.shift(-displacement)`` (that would look ahead)."""
    for name, value in (("tenkan", tenkan), ("kijun", kijun), ("senkou_b", senkou_b)):
        check_period(name, value)
    check_period("displacement", displacement, minimum=0)
    high, low, close = _columns(frame, "high", "low", "close")

    def mid(period: int) -> FloatArray:
        return (_rolling_max(high, period) + _rolling_min(low, period)) / 2

    t, k, b = mid(tenkan), mid(kijun), mid(senkou_b)
    a = (t + k) / 2
    ready = ~np.isnan(t) & ~np.isnan(k) & ~np.isnan(b)
    leading_a = np.where(ready, a, np.nan)
    leading_b = np.where(ready, b, np.nan)

    def shift(values: FloatArray) -> FloatArray:
        out = _nan(len(values))
        if displacement < len(values):
            out[displacement:] = values[: len(values) - displacement]
        return out

    senkou_a, senkou_b_values = shift(leading_a), shift(leading_b)
    defined = ~np.isnan(senkou_b_values)
    columns = {
        "tenkan": t,
        "kijun": k,
        "senkou_a": senkou_a,
        "senkou_b": senkou_b_values,
        "leading_a": leading_a,
        "leading_b": leading_b,
        "chikou": close,
    }
    for values in columns.values():
        values[~defined] = np.nan
    return _frame(columns, frame.index)


# --- volume ---------------------------------------------------------------------------


def obv(frame: pd.DataFrame) -> pd.Series:
    close, volume = _columns(frame, "close", "volume")
    signed = np.zeros(len(close))
    change = np.diff(close)
    signed[1:] = np.where(change > 0, volume[1:], np.where(change < 0, -volume[1:], 0.0))
    return _series(np.cumsum(signed), frame.index, "obv")


def _typical(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    high, low, close, volume = _columns(frame, "high", "low", "close", "volume")
    return (high + low + close) / 3, volume


def vwap(frame: pd.DataFrame, *, reset_utc_day: bool = False) -> pd.Series:
    """Cumulative VWAP; with ``reset_utc_day`` the sums restart at each UTC day, read from
    the ``timestamp`` column (ms since the epoch)."""
    typical, volume = _typical(frame)
    pv = typical * volume
    if reset_utc_day:
        (timestamp,) = _columns(frame, "timestamp")
        day = pd.Series(np.floor_divide(timestamp.astype(np.int64), _DAY_MS))
        cum_pv = pd.Series(pv).groupby(day).cumsum().to_numpy(dtype=np.float64, copy=True)
        cum_vol = pd.Series(volume).groupby(day).cumsum().to_numpy(dtype=np.float64, copy=True)
    else:
        cum_pv, cum_vol = np.cumsum(pv), np.cumsum(volume)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(cum_vol > 0, cum_pv / cum_vol, typical)
    return _series(out, frame.index, "vwap")


def rolling_vwap(frame: pd.DataFrame, period: int = 20) -> pd.Series:
    check_period("period", period)
    typical, volume = _typical(frame)
    pv, vol = _rolling_sum(typical * volume, period), _rolling_sum(volume, period)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(vol > 0, pv / vol, typical)
    out[np.isnan(vol)] = np.nan
    return _series(out, frame.index, "rolling_vwap")
