"""Volume indicators: OBV, session VWAP, rolling VWAP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from task_station.domain.errors import ValidationError
from task_station.strategies.ta._core import (
    Bar,
    TimedBar,
    WindowSum,
    check_period,
    not_ready,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)


class OBV:
    """On-balance volume: starts at 0 on the first bar, then adds the bar's volume when
    the close rose, subtracts it when the close fell, and keeps it on an unchanged close.

    A running sum in float64 is exact while the volumes and the total fit 53 bits of
    mantissa, which they do for any real volume series quoted to a few decimals.
    """

    __slots__ = ("_prev", "_value", "warmup")

    def __init__(self) -> None:
        self.warmup = 1
        self._prev: float | None = None
        self._value = 0.0

    def update(self, bar: Bar) -> None:
        close = float(bar.close)
        prev, self._prev = self._prev, close
        if prev is None:
            return
        if close > prev:
            self._value += float(bar.volume)
        elif close < prev:
            self._value -= float(bar.volume)

    @property
    def ready(self) -> bool:
        return self._prev is not None

    @property
    def value(self) -> float:
        if self._prev is None:
            raise not_ready(self)
        return self._value

    def reset(self) -> None:
        self._prev = None
        self._value = 0.0


def _typical(bar: Bar) -> float:
    return (float(bar.high) + float(bar.low) + float(bar.close)) / 3


class VWAP:
    """Volume-weighted average of the typical price (high + low + close) / 3.

    Cumulative from the first bar, or, with ``reset_utc_day=True``, from the first bar
    of each UTC calendar day (the usual intraday session anchor for 24/7 crypto). Until a
    session has traded any volume the VWAP is undefined; it then reads the bar's typical
    price so a strategy never divides by zero.
    """

    __slots__ = ("_day", "_pv", "_typical", "_vol", "reset_utc_day", "warmup")

    def __init__(self, *, reset_utc_day: bool = False) -> None:
        self.reset_utc_day = reset_utc_day
        self.warmup = 1
        self._day: int | None = None
        self._pv = self._vol = self._typical = 0.0

    def update(self, bar: TimedBar) -> None:
        if self.reset_utc_day:
            if bar.ts.tzinfo is None:
                raise ValidationError("VWAP session reset needs aware UTC bar times")
            day = (bar.ts - _EPOCH) // _DAY
            if day != self._day:
                self._pv = self._vol = 0.0
        else:
            day = 0
        self._day = day
        typical = _typical(bar)
        volume = float(bar.volume)
        self._pv += typical * volume
        self._vol += volume
        self._typical = typical

    @property
    def ready(self) -> bool:
        return self._day is not None

    @property
    def value(self) -> float:
        if self._day is None:
            raise not_ready(self)
        return self._pv / self._vol if self._vol > 0 else self._typical

    def reset(self) -> None:
        self._day = None
        self._pv = self._vol = self._typical = 0.0


class RollingVWAP:
    """VWAP of the typical price over the last ``period`` bars (no session anchor).

    A window without volume reads the current bar's typical price.
    """

    __slots__ = ("_pv", "_typical", "_vol", "period", "warmup")

    def __init__(self, period: int = 20) -> None:
        self.period = check_period("period", period)
        self.warmup = self.period
        self._pv = WindowSum(self.period)
        self._vol = WindowSum(self.period)
        self._typical = 0.0

    def update(self, bar: Bar) -> None:
        typical = _typical(bar)
        volume = float(bar.volume)
        self._pv.push(typical * volume)
        self._vol.push(volume)
        self._typical = typical

    @property
    def ready(self) -> bool:
        return self._vol.full

    @property
    def value(self) -> float:
        if not self._vol.full:
            raise not_ready(self)
        vol = self._vol.total
        return self._pv.total / vol if vol > 0 else self._typical

    def reset(self) -> None:
        self._pv.reset()
        self._vol.reset()
        self._typical = 0.0
