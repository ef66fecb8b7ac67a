"""Incremental indicators over exact decimals."""

from __future__ import annotations

import decimal
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, TypeVar

import numpy as np

from task_station.domain.bar_columns import BarColumns
from task_station.domain.candles import Candle
from task_station.domain.money import ZERO


class RollingSum:
    """Sum of the last ``window`` values, updated in O(1) and exact for decimals.

    Exactness needs the context precision to hold every partial sum; strategies that
    compare averages do so on sums (``sum_a * n_b`` vs ``sum_b * n_a``) under
    ``exact_context`` so a tie stays a tie.
    """

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self._values: deque[Decimal] = deque()
        self.total = ZERO

    def update(self, value: Decimal) -> None:
        self._values.append(value)
        self.total += value
        if len(self._values) > self.window:
            self.total -= self._values.popleft()

    @property
    def ready(self) -> bool:
        return len(self._values) == self.window

    @property
    def mean(self) -> Decimal:
        return self.total / self.window


# -- indicators with two faces: bar by bar (live) and over a whole replay (backtests) -----

T = TypeVar("T", covariant=True)


class Indicator(Protocol[T]):
    """An indicator a strategy declares once (``ctx.indicator``) and reads every bar.

    Live, the runtime feeds it each closed bar (``update``); a backtest computes the
    whole replay at once (``batch``) and the strategy reads bar t's value at bar t. Both
    faces must give the same value at every bar, and ``batch``'s value at t may depend
    only on bars up to t: ``tests/strategies/test_indicator_faces.py`` checks both on
    real series, and the look-ahead test perturbs the future to prove the second.
    """

    def update(self, candle: Candle) -> T | None:
        """Take the next closed bar; its value (None while warming up)."""

    def batch(self, bars: BarColumns) -> Sequence[T | None]:
        """The value at every bar of ``bars`` (None while warming up)."""


_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


class SmaCrossSign:
    """The sign of SMA_fast(close) - SMA_slow(close): 1, 0 (a tie) or -1, exactly.

    The sign of the difference of means is that of ``sum_fast * slow - sum_slow * fast``,
    computed without division or rounding, so a tie is a tie. ``batch`` does it in int64
    on the prices scaled to integers (the printed decimals), falling back to the exact
    bar-by-bar face when the scale or the magnitude does not fit.
    """

    def __init__(self, fast: int, slow: int) -> None:
        if not 1 <= fast < slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={fast} slow={slow}")
        self.fast, self.slow = fast, slow
        self._window: deque[Decimal] = deque()
        self._sum_fast = ZERO
        self._sum_slow = ZERO

    def update(self, candle: Candle) -> int | None:
        close = candle.close
        window = self._window
        window.append(close)
        ctx = _EXACT
        self._sum_slow = ctx.add(self._sum_slow, close)
        self._sum_fast = ctx.add(self._sum_fast, close)
        if len(window) > self.fast:
            self._sum_fast = ctx.subtract(self._sum_fast, window[-self.fast - 1])
        if len(window) > self.slow:
            self._sum_slow = ctx.subtract(self._sum_slow, window.popleft())
        if len(window) < self.slow:
            return None
        d = ctx.subtract(
            ctx.multiply(self._sum_fast, self.slow), ctx.multiply(self._sum_slow, self.fast)
        )
        return (d > 0) - (d < 0)

    def batch(self, bars: BarColumns) -> list[int | None]:
        n = len(bars)
        places = bars.decimal_places("close")
        closes = bars.close
        bound = 2.0**62
        if places is not None and n:
            scaled = np.round(closes * 10.0**places)
            peak = float(np.max(np.abs(scaled)))
            if peak * max(n, self.fast * self.slow) < bound:
                ints = scaled.astype(np.int64)
                cum = np.concatenate((np.zeros(1, np.int64), np.cumsum(ints)))
                sum_fast = cum[self.slow :] - cum[self.slow - self.fast : n + 1 - self.fast]
                sum_slow = cum[self.slow :] - cum[: n + 1 - self.slow]
                d = sum_fast * self.slow - sum_slow * self.fast
                out: list[int | None] = [None] * (self.slow - 1)
                out.extend(np.sign(d).tolist())
                return out[:n]
        fresh = SmaCrossSign(self.fast, self.slow)
        return [fresh.update(bars.candle(i)) for i in range(n)]
