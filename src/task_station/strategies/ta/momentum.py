"""Momentum oscillators: RSI, MACD, Stochastic."""

from __future__ import annotations

from task_station.domain.errors import ValidationError
from task_station.strategies.ta._core import (
    Bar,
    Number,
    RollingMax,
    RollingMin,
    Smoother,
    WindowSum,
    check_period,
    ema_alpha,
    not_ready,
    wilder_alpha,
)


class RSI:
    """Wilder's relative strength index, 0..100.

    Average gain and loss are Wilder averages (alpha 1/period) of the close-to-close
    changes, seeded with the plain mean of the first ``period`` changes, so the first
    value needs ``period + 1`` closes. RSI is computed as ``100 * gain / (gain + loss)``
    (the same as ``100 - 100 / (1 + RS)`` but defined when loss is 0); a window with no
    movement at all reads 50.
    """

    __slots__ = ("_gain", "_loss", "_prev", "period", "warmup")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period)
        self.warmup = self.period + 1
        self._gain = Smoother(self.period, wilder_alpha(self.period))
        self._loss = Smoother(self.period, wilder_alpha(self.period))
        self._prev: float | None = None

    def update(self, close: Number) -> None:
        x = float(close)
        prev, self._prev = self._prev, x
        if prev is None:
            return
        change = x - prev
        self._gain.push(change if change > 0 else 0.0)
        self._loss.push(-change if change < 0 else 0.0)

    @property
    def ready(self) -> bool:
        return self._gain.ready

    @property
    def value(self) -> float:
        if not self._gain.ready:
            raise not_ready(self)
        gain, loss = self._gain.value, self._loss.value
        total = gain + loss
        return 100.0 * gain / total if total > 0 else 50.0

    def reset(self) -> None:
        self._gain.reset()
        self._loss.reset()
        self._prev = None


class MACD:
    """MACD line (EMA fast - EMA slow), its signal EMA and the histogram (line - signal).

    All three EMAs are seeded with an SMA (see ``EMA``); the signal's seed is the mean of
    the first ``signal`` MACD values, so everything is defined after
    ``slow + signal - 1`` bars.
    """

    __slots__ = ("_fast", "_line", "_signal", "_slow", "fast", "signal_period", "slow", "warmup")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast = check_period("fast", fast)
        self.slow = check_period("slow", slow)
        self.signal_period = check_period("signal", signal)
        if self.fast >= self.slow:
            raise ValidationError(f"MACD fast ({fast}) must be shorter than slow ({slow})")
        self.warmup = self.slow + self.signal_period - 1
        self._fast = Smoother(self.fast, ema_alpha(self.fast))
        self._slow = Smoother(self.slow, ema_alpha(self.slow))
        self._signal = Smoother(self.signal_period, ema_alpha(self.signal_period))
        self._line = 0.0

    def update(self, close: Number) -> None:
        x = float(close)
        self._fast.push(x)
        if self._slow.push(x):
            self._line = self._fast.value - self._slow.value
            self._signal.push(self._line)

    @property
    def ready(self) -> bool:
        return self._signal.ready

    @property
    def macd(self) -> float:
        if not self._signal.ready:
            raise not_ready(self)
        return self._line

    @property
    def signal(self) -> float:
        if not self._signal.ready:
            raise not_ready(self)
        return self._signal.value

    @property
    def histogram(self) -> float:
        if not self._signal.ready:
            raise not_ready(self)
        return self._line - self._signal.value

    def reset(self) -> None:
        self._fast.reset()
        self._slow.reset()
        self._signal.reset()
        self._line = 0.0


class Stochastic:
    """Stochastic oscillator: %K over ``period`` bars (current bar included), smoothed by
    an SMA of ``smooth_k`` (1 gives the fast stochastic), and %D = SMA(%K, ``d_period``).

    A window whose high equals its low has no range to place the close in; raw %K reads
    50 there rather than dividing by zero.
    """

    __slots__ = ("_d", "_high", "_k", "_low", "d_period", "period", "smooth_k", "warmup")

    def __init__(self, period: int = 14, smooth_k: int = 3, d_period: int = 3) -> None:
        self.period = check_period("period", period)
        self.smooth_k = check_period("smooth_k", smooth_k)
        self.d_period = check_period("d_period", d_period)
        self.warmup = self.period + self.smooth_k + self.d_period - 2
        self._high = RollingMax(self.period)
        self._low = RollingMin(self.period)
        self._k = WindowSum(self.smooth_k)
        self._d = WindowSum(self.d_period)

    def update(self, bar: Bar) -> None:
        self._high.push(float(bar.high))
        self._low.push(float(bar.low))
        if not self._high.full:
            return
        hh, ll = self._high.value, self._low.value
        raw = 100.0 * (float(bar.close) - ll) / (hh - ll) if hh > ll else 50.0
        self._k.push(raw)
        if self._k.full:
            self._d.push(self._k.total / self.smooth_k)

    @property
    def ready(self) -> bool:
        return self._d.full

    @property
    def k(self) -> float:
        if not self._d.full:
            raise not_ready(self)
        return self._k.total / self.smooth_k

    @property
    def d(self) -> float:
        if not self._d.full:
            raise not_ready(self)
        return self._d.total / self.d_period

    def reset(self) -> None:
        self._high.reset()
        self._low.reset()
        self._k.reset()
        self._d.reset()
