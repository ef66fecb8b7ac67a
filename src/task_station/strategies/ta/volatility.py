"""Volatility and channels: ATR, Bollinger Bands, Keltner and Donchian channels."""

from __future__ import annotations

import math
from collections import deque

from task_station.strategies.ta._core import (
    Bar,
    Number,
    RollingMax,
    RollingMin,
    Smoother,
    TrueRange,
    check_period,
    ema_alpha,
    not_ready,
    wilder_alpha,
)


class ATR:
    """Wilder's average true range.

    The true range needs the previous close, so the first bar only primes it; ATR is the
    mean of the first ``period`` true ranges, then Wilder-smoothed (alpha 1/period), and
    is ready after ``period + 1`` bars (TA-Lib's convention).
    """

    __slots__ = ("_s", "_tr", "period", "warmup")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period)
        self.warmup = self.period + 1
        self._tr = TrueRange()
        self._s = Smoother(self.period, wilder_alpha(self.period))

    def update(self, bar: Bar) -> None:
        self.push(float(bar.high), float(bar.low), float(bar.close))

    def push(self, high: float, low: float, close: float) -> None:
        """Float entry point, so composite indicators convert each Decimal only once."""
        if self._tr.push(high, low, close):
            self._s.push(self._tr.value)

    @property
    def ready(self) -> bool:
        return self._s.ready

    @property
    def value(self) -> float:
        if not self._s.ready:
            raise not_ready(self)
        return self._s.value

    def reset(self) -> None:
        self._tr.reset()
        self._s.reset()


class BollingerBands:
    """SMA(``period``) ± ``mult`` population standard deviations (ddof=0), plus %b and
    bandwidth.

    The deviation is computed two-pass over the window (O(period) per bar) instead of
    from a running sum of squares, because the latter cancels catastrophically on
    low-volatility prices (EUR/USD at 1.07 moving 1e-5). A window of identical closes has
    a deviation of exactly 0; %b then reads 0.5 and bandwidth 0.
    """

    __slots__ = (
        "_lower",
        "_middle",
        "_percent_b",
        "_upper",
        "_window",
        "mult",
        "period",
        "warmup",
    )

    def __init__(self, period: int = 20, mult: Number = 2.0) -> None:
        self.period = check_period("period", period)
        self.mult = float(mult)
        self.warmup = self.period
        self._window: deque[float] = deque(maxlen=self.period)
        self._middle = self._upper = self._lower = self._percent_b = 0.0

    def update(self, close: Number) -> None:
        x = float(close)
        window = self._window
        window.append(x)
        if len(window) < self.period:
            return
        if max(window) == min(window):
            mean, sd = x, 0.0
        else:
            mean = math.fsum(window) / self.period
            sd = math.sqrt(math.fsum((v - mean) * (v - mean) for v in window) / self.period)
        width = self.mult * sd
        self._middle = mean
        self._upper = mean + width
        self._lower = mean - width
        span = self._upper - self._lower
        self._percent_b = (x - self._lower) / span if span > 0 else 0.5

    @property
    def ready(self) -> bool:
        return len(self._window) == self.period

    def _check(self) -> None:
        if len(self._window) < self.period:
            raise not_ready(self)

    @property
    def middle(self) -> float:
        self._check()
        return self._middle

    @property
    def upper(self) -> float:
        self._check()
        return self._upper

    @property
    def lower(self) -> float:
        self._check()
        return self._lower

    @property
    def percent_b(self) -> float:
        """Where the close sits in the band: 0 at the lower, 1 at the upper band."""
        self._check()
        return self._percent_b

    @property
    def bandwidth(self) -> float:
        """Band width relative to the middle: (upper - lower) / middle."""
        self._check()
        return (self._upper - self._lower) / self._middle if self._middle != 0 else 0.0

    def reset(self) -> None:
        self._window.clear()
        self._middle = self._upper = self._lower = self._percent_b = 0.0


class KeltnerChannel:
    """EMA(close, ``period``) ± ``mult`` * ATR(``atr_period``) (both seeded as in EMA/ATR)."""

    __slots__ = ("_atr", "_ema", "atr_period", "mult", "period", "warmup")

    def __init__(self, period: int = 20, atr_period: int = 10, mult: Number = 2.0) -> None:
        self.period = check_period("period", period)
        self.atr_period = check_period("atr_period", atr_period)
        self.mult = float(mult)
        self.warmup = max(self.period, self.atr_period + 1)
        self._ema = Smoother(self.period, ema_alpha(self.period))
        self._atr = ATR(self.atr_period)

    def update(self, bar: Bar) -> None:
        close = float(bar.close)
        self._ema.push(close)
        self._atr.push(float(bar.high), float(bar.low), close)

    @property
    def ready(self) -> bool:
        return self._ema.ready and self._atr.ready

    @property
    def middle(self) -> float:
        if not self.ready:
            raise not_ready(self)
        return self._ema.value

    @property
    def upper(self) -> float:
        if not self.ready:
            raise not_ready(self)
        return self._ema.value + self.mult * self._atr.value

    @property
    def lower(self) -> float:
        if not self.ready:
            raise not_ready(self)
        return self._ema.value - self.mult * self._atr.value

    def reset(self) -> None:
        self._ema.reset()
        self._atr.reset()


class DonchianChannel:
    """Highest high, lowest low and their midpoint over ``period`` bars (exact).

    ``include_current=True`` (the charting convention) spans the current bar and the
    ``period - 1`` before it; a close can then never be above the upper band. Breakout
    rules need ``include_current=False``: the channel of the *previous* ``period`` bars,
    against which the current bar's close or high is tested; that needs one more bar of
    warm-up.
    """

    __slots__ = (
        "_high",
        "_low",
        "_lower",
        "_ready",
        "_upper",
        "include_current",
        "period",
        "warmup",
    )

    def __init__(self, period: int = 20, *, include_current: bool = True) -> None:
        self.period = check_period("period", period)
        self.include_current = include_current
        self.warmup = self.period if include_current else self.period + 1
        self._high = RollingMax(self.period)
        self._low = RollingMin(self.period)
        self._upper = self._lower = 0.0
        self._ready = False

    def update(self, bar: Bar) -> None:
        if not self.include_current and self._high.full:
            self._upper, self._lower, self._ready = self._high.value, self._low.value, True
        self._high.push(float(bar.high))
        self._low.push(float(bar.low))
        if self.include_current and self._high.full:
            self._upper, self._lower, self._ready = self._high.value, self._low.value, True

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def upper(self) -> float:
        if not self._ready:
            raise not_ready(self)
        return self._upper

    @property
    def lower(self) -> float:
        if not self._ready:
            raise not_ready(self)
        return self._lower

    @property
    def middle(self) -> float:
        if not self._ready:
            raise not_ready(self)
        return (self._upper + self._lower) / 2

    def reset(self) -> None:
        self._high.reset()
        self._low.reset()
        self._upper = self._lower = 0.0
        self._ready = False
