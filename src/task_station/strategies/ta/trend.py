"""Trend indicators: ADX (+DI/-DI), SuperTrend, Ichimoku."""

from __future__ import annotations

from collections import deque

from task_station.strategies.ta._core import (
    Bar,
    Number,
    RollingMax,
    RollingMin,
    Smoother,
    TrueRange,
    check_period,
    not_ready,
    wilder_alpha,
)
from task_station.strategies.ta.volatility import ATR


class ADX:
    """Wilder's directional movement: +DI, -DI and ADX.

    +DM/-DM and the true range start on the second bar; each is Wilder-smoothed, seeded
    with the mean of its first ``period`` values (averages, not Wilder's running sums:
    the DI ratios are identical). DX = 100 |+DI - -DI| / (+DI + -DI), 0 when both are 0;
    ADX is DX Wilder-smoothed the same way, so everything is defined after
    ``2 * period`` bars.
    """

    __slots__ = (
        "_adx",
        "_dx",
        "_minus",
        "_minus_di",
        "_plus",
        "_plus_di",
        "_prev_high",
        "_prev_low",
        "_tr",
        "_trs",
        "period",
        "warmup",
    )

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period)
        self.warmup = 2 * self.period
        alpha = wilder_alpha(self.period)
        self._tr = TrueRange()
        self._trs = Smoother(self.period, alpha)
        self._plus = Smoother(self.period, alpha)
        self._minus = Smoother(self.period, alpha)
        self._adx = Smoother(self.period, alpha)
        self._prev_high = self._prev_low = 0.0
        self._plus_di = self._minus_di = 0.0

    def update(self, bar: Bar) -> None:
        high, low = float(bar.high), float(bar.low)
        if self._tr.push(high, low, float(bar.close)):
            up = high - self._prev_high
            down = self._prev_low - low
            self._plus.push(up if up > down and up > 0 else 0.0)
            self._minus.push(down if down > up and down > 0 else 0.0)
            if self._trs.push(self._tr.value):
                atr = self._trs.value
                plus_di = 100.0 * self._plus.value / atr if atr > 0 else 0.0
                minus_di = 100.0 * self._minus.value / atr if atr > 0 else 0.0
                total = plus_di + minus_di
                self._adx.push(100.0 * abs(plus_di - minus_di) / total if total > 0 else 0.0)
                self._plus_di, self._minus_di = plus_di, minus_di
        self._prev_high, self._prev_low = high, low

    @property
    def ready(self) -> bool:
        return self._adx.ready

    @property
    def plus_di(self) -> float:
        if not self._adx.ready:
            raise not_ready(self)
        return self._plus_di

    @property
    def minus_di(self) -> float:
        if not self._adx.ready:
            raise not_ready(self)
        return self._minus_di

    @property
    def adx(self) -> float:
        if not self._adx.ready:
            raise not_ready(self)
        return self._adx.value

    def reset(self) -> None:
        for s in (self._tr, self._trs, self._plus, self._minus, self._adx):
            s.reset()
        self._prev_high = self._prev_low = 0.0
        self._plus_di = self._minus_di = 0.0


class SuperTrend:
    """SuperTrend as TradingView's ``ta.supertrend`` defines it.

    Basic bands are hl2 ± ``mult`` * ATR(``period``, Wilder). The final upper band only
    moves down (it resets when the previous close broke above it), the final lower band
    only moves up (reset when the previous close broke below). In a downtrend the line is
    the upper band until a close above it turns the trend up; in an uptrend it is the
    lower band until a close below it. The first bar with an ATR starts in a downtrend.
    ``direction`` is +1 (up, line below price) or -1 (down, line above price).
    """

    __slots__ = (
        "_atr",
        "_direction",
        "_lower",
        "_prev_close",
        "_started",
        "_upper",
        "mult",
        "period",
        "warmup",
    )

    def __init__(self, period: int = 10, mult: Number = 3.0) -> None:
        self.period = check_period("period", period)
        self.mult = float(mult)
        self.warmup = self.period + 1
        self._atr = ATR(self.period)
        self._upper = self._lower = self._prev_close = 0.0
        self._direction = -1
        self._started = False

    def update(self, bar: Bar) -> None:
        high, low, close = float(bar.high), float(bar.low), float(bar.close)
        self._atr.push(high, low, close)
        if self._atr.ready:
            hl2 = (high + low) / 2
            offset = self.mult * self._atr.value
            upper, lower = hl2 + offset, hl2 - offset
            if not self._started:
                self._started = True
                self._direction = -1
            else:
                prev_close = self._prev_close
                if not (upper < self._upper or prev_close > self._upper):
                    upper = self._upper
                if not (lower > self._lower or prev_close < self._lower):
                    lower = self._lower
                if self._direction == -1:
                    self._direction = 1 if close > upper else -1
                else:
                    self._direction = -1 if close < lower else 1
            self._upper, self._lower = upper, lower
        self._prev_close = close

    @property
    def ready(self) -> bool:
        return self._started

    @property
    def value(self) -> float:
        """The SuperTrend line: the lower band in an uptrend, the upper in a downtrend."""
        if not self._started:
            raise not_ready(self)
        return self._lower if self._direction == 1 else self._upper

    @property
    def direction(self) -> int:
        if not self._started:
            raise not_ready(self)
        return self._direction

    @property
    def upper(self) -> float:
        if not self._started:
            raise not_ready(self)
        return self._upper

    @property
    def lower(self) -> float:
        if not self._started:
            raise not_ready(self)
        return self._lower

    def reset(self) -> None:
        self._atr.reset()
        self._upper = self._lower = self._prev_close = 0.0
        self._direction = -1
        self._started = False


class Ichimoku:
    """Ichimoku Kinko Hyo, limited to what is known at the current bar.

    - ``tenkan`` / ``kijun``: midpoints of the ``tenkan``- / ``kijun``-bar high-low range.
    - ``leading_a`` = (tenkan + kijun) / 2 and ``leading_b`` = the ``senkou_b``-bar
      midpoint, as computed *now*; a chart draws them ``displacement`` bars into the
      future.
    - ``senkou_a`` / ``senkou_b``: the cloud *at the current bar*, i.e. the leading spans
      computed ``displacement`` bars ago (a plain ``shift(displacement)``; no look-ahead).
    - ``chikou``: the current close. A chart draws it ``displacement`` bars in the past;
      an incremental indicator cannot give the value plotted at the current bar (that is
      the close ``displacement`` bars in the future), so a strategy compares ``chikou``
      with the price of ``displacement`` bars ago instead.

    TradingView plots the shifted lines at ``displacement - 1``; pass 25 to match it.
    Everything is defined after ``max(tenkan, kijun, senkou_b) + displacement`` bars.
    """

    __slots__ = (
        "_close",
        "_history",
        "_hk",
        "_hs",
        "_ht",
        "_lk",
        "_ls",
        "_lt",
        "displacement",
        "kijun_period",
        "senkou_b_period",
        "tenkan_period",
        "warmup",
    )

    def __init__(
        self, tenkan: int = 9, kijun: int = 26, senkou_b: int = 52, displacement: int = 26
    ) -> None:
        self.tenkan_period = check_period("tenkan", tenkan)
        self.kijun_period = check_period("kijun", kijun)
        self.senkou_b_period = check_period("senkou_b", senkou_b)
        self.displacement = check_period("displacement", displacement, minimum=0)
        self.warmup = max(tenkan, kijun, senkou_b) + self.displacement
        self._ht, self._lt = RollingMax(tenkan), RollingMin(tenkan)
        self._hk, self._lk = RollingMax(kijun), RollingMin(kijun)
        self._hs, self._ls = RollingMax(senkou_b), RollingMin(senkou_b)
        # (tenkan, kijun, leading_a, leading_b) per bar, the oldest being the cloud now.
        self._history: deque[tuple[float, float, float, float]] = deque(
            maxlen=self.displacement + 1
        )
        self._close = 0.0

    def update(self, bar: Bar) -> None:
        high, low = float(bar.high), float(bar.low)
        for hi, lo in ((self._ht, self._lt), (self._hk, self._lk), (self._hs, self._ls)):
            hi.push(high)
            lo.push(low)
        self._close = float(bar.close)
        if self._ht.full and self._hk.full and self._hs.full:
            tenkan = (self._ht.value + self._lt.value) / 2
            kijun = (self._hk.value + self._lk.value) / 2
            leading_b = (self._hs.value + self._ls.value) / 2
            self._history.append((tenkan, kijun, (tenkan + kijun) / 2, leading_b))

    @property
    def ready(self) -> bool:
        return len(self._history) == self.displacement + 1

    def _now(self) -> tuple[float, float, float, float]:
        if len(self._history) <= self.displacement:
            raise not_ready(self)
        return self._history[-1]

    @property
    def tenkan(self) -> float:
        return self._now()[0]

    @property
    def kijun(self) -> float:
        return self._now()[1]

    @property
    def leading_a(self) -> float:
        return self._now()[2]

    @property
    def leading_b(self) -> float:
        return self._now()[3]

    @property
    def senkou_a(self) -> float:
        self._now()
        return self._history[0][2]

    @property
    def senkou_b(self) -> float:
        self._now()
        return self._history[0][3]

    @property
    def chikou(self) -> float:
        self._now()
        return self._close

    def reset(self) -> None:
        for x in (self._ht, self._lt, self._hk, self._lk, self._hs, self._ls):
            x.reset()
        self._history.clear()
        self._close = 0.0
