"""Moving averages of closes: SMA, EMA, WMA."""

from __future__ import annotations

import math

from task_station.strategies.ta._core import (
    Number,
    Smoother,
    WindowSum,
    check_period,
    ema_alpha,
    not_ready,
)


class SMA:
    """Simple moving average of the last ``period`` closes; ready after ``period`` bars."""

    __slots__ = ("_sum", "period", "warmup")

    def __init__(self, period: int = 20) -> None:
        self.period = check_period("period", period)
        self.warmup = self.period
        self._sum = WindowSum(self.period)

    def update(self, close: Number) -> None:
        self._sum.push(float(close))

    @property
    def ready(self) -> bool:
        return self._sum.full

    @property
    def value(self) -> float:
        if not self._sum.full:
            raise not_ready(self)
        return self._sum.total / self.period

    def reset(self) -> None:
        self._sum.reset()


class EMA:
    """Exponential moving average, alpha = 2 / (period + 1).

    Seeded with the SMA of the first ``period`` closes (TA-Lib's convention), so the
    first value appears after ``period`` bars and does not depend on how far back the
    stream started; ``vectorized.ema`` seeds the same way.
    """

    __slots__ = ("_s", "period", "warmup")

    def __init__(self, period: int = 20) -> None:
        self.period = check_period("period", period)
        self.warmup = self.period
        self._s = Smoother(self.period, ema_alpha(self.period))

    def update(self, close: Number) -> None:
        self._s.push(float(close))

    @property
    def ready(self) -> bool:
        return self._s.ready

    @property
    def value(self) -> float:
        if not self._s.ready:
            raise not_ready(self)
        return self._s.value

    def reset(self) -> None:
        self._s.reset()


class WMA:
    """Linearly weighted moving average (weights 1..period, newest heaviest).

    O(1) per bar: the weighted sum moves by ``period * x_new - sum(window)``; both sums
    are recomputed exactly once per ``period`` bars so rounding cannot drift.
    """

    __slots__ = ("_denominator", "_num", "_since", "_window", "period", "warmup")

    def __init__(self, period: int = 20) -> None:
        self.period = check_period("period", period)
        self.warmup = self.period
        self._denominator = self.period * (self.period + 1) / 2
        self._window = WindowSum(self.period)
        self._num = 0.0
        self._since = 0

    def update(self, close: Number) -> None:
        x = float(close)
        window = self._window
        if window.full:
            self._num += self.period * x - window.total
            window.push(x)
            self._since += 1
            if self._since >= self.period:
                self._resync()
            return
        window.push(x)
        if window.full:
            self._resync()

    def _resync(self) -> None:
        self._num = math.fsum(k * v for k, v in enumerate(self._window.values, 1))
        self._since = 0

    @property
    def ready(self) -> bool:
        return self._window.full

    @property
    def value(self) -> float:
        if not self._window.full:
            raise not_ready(self)
        return self._num / self._denominator

    def reset(self) -> None:
        self._window.reset()
        self._num = 0.0
        self._since = 0


__all__ = ["EMA", "SMA", "WMA"]
