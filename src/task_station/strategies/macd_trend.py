"""MACD trend following, long only: ride momentum when MACD crosses its signal line.

**Idea.** The MACD line is EMA_fast - EMA_slow of the close (momentum); its signal line
is an EMA of the MACD line. MACD crossing above its signal means momentum is turning up.

**Rules.** With h = MACD - signal (the histogram): a flat bot that sees h[t-1] <= 0 <
h[t] buys with ``fraction`` of its free quote balance, and, with ``zero_filter``, only
if the MACD line is above zero too (the trend itself is up); a long bot that sees
h[t-1] >= 0 > h[t] sells everything. Orders fill at the next bar's open.

**Parameters.** ``fast`` < ``slow`` and ``signal`` (bars, classically 12/26/9),
``zero_filter``, ``fraction``.

**When it fails.** Like every crossover it lags and whipsaws in ranges; histogram
crosses near zero are frequent in quiet markets (``zero_filter`` removes some of
them at the cost of later entries).
"""

from __future__ import annotations

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.strategies.base import StrategyContext
from task_station.strategies.common import FRACTION, LongOnlySignal, period_param
from task_station.strategies.params import Param
from task_station.strategies.ta import MACD


class MacdTrend(LongOnlySignal):
    name = "macd_trend"
    description = "Buy when MACD crosses above its signal line; sell when it crosses below."
    params = (
        period_param("fast", 12, "bars in the fast EMA"),
        period_param("slow", 26, "bars in the slow EMA", minimum=2),
        period_param("signal", 9, "bars in the signal line's EMA"),
        Param("zero_filter", bool, False, "enter only while the MACD line is above zero"),
        FRACTION,
    )

    def check_params(self) -> None:
        if self.integer("fast") >= self.integer("slow"):
            raise ValidationError(
                f"macd_trend: fast ({self.p['fast']}) must be smaller than slow ({self.p['slow']})"
            )

    def on_start(self, ctx: StrategyContext) -> None:
        self._macd = MACD(self.integer("fast"), self.integer("slow"), self.integer("signal"))
        self._prev: float | None = None

    def signal(self, candle: Candle) -> int:
        self._macd.update(candle.close)
        if not self._macd.ready:
            return 0
        h = self._macd.histogram
        prev, self._prev = self._prev, h
        if prev is None:
            return 0
        if prev <= 0 < h and (not self.p["zero_filter"] or self._macd.macd > 0):
            return 1
        if prev >= 0 > h:
            return -1
        return 0
