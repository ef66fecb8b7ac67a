"""Independent reference indicators (numpy/pandas, written from the textbook definitions),
used to check what the strategies did. Nothing here imports the station's indicators.

Conventions, as documented by the strategies: EMAs are seeded with the simple mean of
their first n inputs; Wilder averages (RSI, ATR) likewise; the true range starts on the
second bar; standard deviations are population ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAN = float("nan")


def seeded_ema(values: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """Exponential average seeded with the mean of the first ``n`` non-NaN values."""
    out = np.full(len(values), NAN)
    valid = np.flatnonzero(~np.isnan(values))
    if len(valid) < n:
        return out
    first = valid[0]
    seed_end = first + n - 1
    value = float(np.mean(values[first : seed_end + 1]))
    out[seed_end] = value
    for t in range(seed_end + 1, len(values)):
        value = value + alpha * (values[t] - value)
        out[t] = value
    return out


def ema(values: np.ndarray, n: int) -> np.ndarray:
    return seeded_ema(values, n, 2.0 / (n + 1))


def rsi(close: pd.Series, n: int) -> np.ndarray:
    change = close.diff().to_numpy()
    gain = seeded_ema(np.where(np.isnan(change), NAN, np.clip(change, 0, None)), n, 1.0 / n)
    loss = seeded_ema(np.where(np.isnan(change), NAN, np.clip(-change, 0, None)), n, 1.0 / n)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 100.0 * gain / total, 50.0) * np.where(np.isnan(total), NAN, 1)


def macd(close: pd.Series, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray]:
    c = close.to_numpy(dtype=float)
    line = ema(c, fast) - ema(c, slow)
    line[: slow - 1] = NAN
    return line, ema(line, signal)


def true_range(df: pd.DataFrame) -> np.ndarray:
    prev = df["close"].shift(1)
    tr = pd.concat(
        [df["high"] - df["low"], (df["high"] - prev).abs(), (df["low"] - prev).abs()], axis=1
    ).max(axis=1, skipna=False)
    return tr.to_numpy(dtype=float)


def atr(df: pd.DataFrame, n: int) -> np.ndarray:
    return seeded_ema(true_range(df), n, 1.0 / n)


def bollinger(close: pd.Series, n: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mid = close.rolling(n).mean()
    sd = close.rolling(n).std(ddof=0)
    return (mid - k * sd).to_numpy(), mid.to_numpy(), (mid + k * sd).to_numpy()


def supertrend_direction(df: pd.DataFrame, n: int, mult: float) -> np.ndarray:
    """+1/-1 per bar (NaN before the ATR exists), TradingView's band-carrying rules."""
    a = atr(df, n)
    hl2 = ((df["high"] + df["low"]) / 2).to_numpy(dtype=float)
    close = df["close"].to_numpy(dtype=float)
    direction = np.full(len(df), NAN)
    upper = lower = 0.0
    started = False
    d = -1
    for t in range(len(df)):
        if np.isnan(a[t]):
            continue
        up, lo = hl2[t] + mult * a[t], hl2[t] - mult * a[t]
        if started:
            if not (up < upper or close[t - 1] > upper):
                up = upper
            if not (lo > lower or close[t - 1] < lower):
                lo = lower
            d = (1 if close[t] > up else -1) if d == -1 else (-1 if close[t] < lo else 1)
        started = True
        upper, lower = up, lo
        direction[t] = d
    return direction


def crosses(series: np.ndarray) -> list[int]:
    """+1 where ``series`` goes from <= 0 to > 0, -1 from >= 0 to < 0, else 0."""
    out = [0] * len(series)
    for t in range(1, len(series)):
        a, b = series[t - 1], series[t]
        if np.isnan(a) or np.isnan(b):
            continue
        out[t] = 1 if a <= 0 < b else -1 if a >= 0 > b else 0
    return out
