"""Shared machinery of the incremental indicators: inputs, errors and O(1) building blocks.

Every indicator converts its ``Decimal`` inputs to float64 once, on entry, and computes
in float64 from there (see the package docstring for why). The building blocks below are
the only places where numerical care matters, so they are written once:

- ``Smoother``: an exponential average seeded with the simple mean of its first ``period``
  inputs (EMA with alpha 2/(n+1), Wilder's RMA with alpha 1/n).
- ``WindowSum``: a rolling sum that is updated in O(1) and recomputed exactly with
  ``math.fsum`` once per ``period`` updates, so the add/subtract rounding drift of a long
  stream is bounded by ``period`` steps instead of growing with the stream.
- ``RollingMax`` / ``RollingMin``: monotonic deques, O(1) amortised, exact.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from task_station.domain.errors import StrategyError, ValidationError

Number = Decimal | float
"""What an indicator accepts: the domain's ``Decimal`` (or a float from analytics code)."""


class Bar(Protocol):
    """What a high/low/close/volume indicator reads from a bar (``domain.candles.Candle``)."""

    @property
    def high(self) -> Number: ...

    @property
    def low(self) -> Number: ...

    @property
    def close(self) -> Number: ...

    @property
    def volume(self) -> Number: ...


class TimedBar(Bar, Protocol):
    """A bar with its (aware, UTC) open time, for indicators with sessions."""

    @property
    def ts(self) -> datetime: ...


class IndicatorNotReady(StrategyError):
    """An output was read before its warm-up ended.

    Raising (rather than returning NaN or None) makes a strategy that forgets to check
    ``ready`` fail loudly on its first bar instead of trading on a silent NaN comparison.
    """


def check_period(name: str, value: int, minimum: int = 1) -> int:
    """Refuse a window the indicator cannot have; parameters come from user presets."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def not_ready(indicator: object) -> IndicatorNotReady:
    return IndicatorNotReady(
        f"{type(indicator).__name__} is still warming up; check .ready before reading it"
    )


class Smoother:
    """Exponential smoothing ``v += alpha * (x - v)`` seeded with the mean of the first
    ``period`` inputs, so its first value does not depend on where the stream started."""

    __slots__ = ("_count", "alpha", "period", "value")

    def __init__(self, period: int, alpha: float) -> None:
        self.period = period
        self.alpha = alpha
        self._count = 0
        self.value = 0.0

    @property
    def ready(self) -> bool:
        return self._count >= self.period

    def push(self, x: float) -> bool:
        """Feed one value; True once ``value`` is defined."""
        count = self._count
        if count >= self.period:
            self.value += self.alpha * (x - self.value)
            return True
        count += 1
        self._count = count
        self.value += x  # the running sum of the seed window
        if count == self.period:
            self.value /= self.period
            return True
        return False

    def reset(self) -> None:
        self._count = 0
        self.value = 0.0


def ema_alpha(period: int) -> float:
    return 2.0 / (period + 1)


def wilder_alpha(period: int) -> float:
    return 1.0 / period


class WindowSum:
    """Sum of the last ``period`` values in O(1), re-summed exactly every ``period`` pushes."""

    __slots__ = ("_since", "period", "total", "values")

    def __init__(self, period: int) -> None:
        self.period = period
        self.values: deque[float] = deque(maxlen=period)
        self.total = 0.0
        self._since = 0

    @property
    def full(self) -> bool:
        return len(self.values) == self.period

    def push(self, x: float) -> None:
        values = self.values
        if len(values) == self.period:
            self.total -= values[0]
        values.append(x)
        self._since += 1
        if self._since >= self.period:
            self.total = math.fsum(values)
            self._since = 0
        else:
            self.total += x

    def reset(self) -> None:
        self.values.clear()
        self.total = 0.0
        self._since = 0


class _RollingExtreme:
    """The extreme of the last ``period`` values (exact; monotonic deque).

    ``_dominates(kept, new)`` says when a queued value can never be the extreme again.
    """

    __slots__ = ("_i", "_q", "period")

    @staticmethod
    def _dominates(kept: float, new: float) -> bool:
        raise NotImplementedError

    def __init__(self, period: int) -> None:
        self.period = period
        self._q: deque[tuple[int, float]] = deque()
        self._i = 0

    def push(self, x: float) -> None:
        q = self._q
        while q and self._dominates(q[-1][1], x):
            q.pop()
        q.append((self._i, x))
        if q[0][0] <= self._i - self.period:
            q.popleft()
        self._i += 1

    @property
    def full(self) -> bool:
        return self._i >= self.period

    @property
    def value(self) -> float:
        return self._q[0][1]

    def reset(self) -> None:
        self._q.clear()
        self._i = 0


class RollingMax(_RollingExtreme):
    """Maximum of the last ``period`` values."""

    __slots__ = ()

    @staticmethod
    def _dominates(kept: float, new: float) -> bool:
        return kept <= new


class RollingMin(_RollingExtreme):
    """Minimum of the last ``period`` values."""

    __slots__ = ()

    @staticmethod
    def _dominates(kept: float, new: float) -> bool:
        return kept >= new


class TrueRange:
    """Wilder's true range; undefined on the first bar (no previous close), by choice.

    Skipping the first bar (rather than using high - low there) is TA-Lib's convention and
    keeps ATR, ADX, Keltner and SuperTrend on the same clock.
    """

    __slots__ = ("prev_close", "value")

    def __init__(self) -> None:
        self.prev_close: float | None = None
        self.value = 0.0

    def push(self, high: float, low: float, close: float) -> bool:
        prev = self.prev_close
        self.prev_close = close
        if prev is None:
            return False
        self.value = max(high - low, abs(high - prev), abs(low - prev))
        return True

    def reset(self) -> None:
        self.prev_close = None
        self.value = 0.0
