"""EMA crossover, long only: follow the trend once the fast average overtakes the slow.

**Idea.** An exponential moving average weighs recent closes more, so it turns sooner
than a simple one; when the fast EMA crosses above the slow EMA, recent prices have
overtaken the longer-run level and a trend may be starting.

**Rules.** With d = EMA_fast(close) - EMA_slow(close) (alpha 2/(n+1), each seeded with
the simple mean of its first n closes): a flat bot that sees d[t-1] <= 0 < d[t] buys
with ``fraction`` of its free quote balance; a long bot that sees d[t-1] >= 0 > d[t]
sells everything. Orders fill at the next bar's open.

**Parameters.** ``fast`` and ``slow`` (bars; fast < slow), ``fraction``.

**When it fails.** In sideways, choppy markets the averages cross back and forth and
every round trip pays fees and the spread (whipsaws); it is always late at turns, so
sharp V-shaped reversals give back a large part of a move. ``sma_cross`` is the same
rule on simple averages.
"""

from __future__ import annotations

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.strategies.base import StrategyContext
from task_station.strategies.common import FRACTION, LongOnlySignal, period_param
from task_station.strategies.ta import EMA


class EmaCross(LongOnlySignal):
    name = "ema_cross"
    description = "Buy when the fast EMA crosses above the slow one; sell on the cross below."
    params = (
        period_param("fast", 12, "bars in the fast exponential moving average"),
        period_param("slow", 26, "bars in the slow exponential moving average", minimum=2),
        FRACTION,
    )

    def check_params(self) -> None:
        if self.integer("fast") >= self.integer("slow"):
            raise ValidationError(
                f"ema_cross: fast ({self.p['fast']}) must be smaller than slow ({self.p['slow']})"
            )

    def on_start(self, ctx: StrategyContext) -> None:
        self._fast = EMA(self.integer("fast"))
        self._slow = EMA(self.integer("slow"))
        self._prev: float | None = None

    def signal(self, candle: Candle) -> int:
        self._fast.update(candle.close)
        self._slow.update(candle.close)
        if not self._slow.ready:
            return 0
        d = self._fast.value - self._slow.value
        prev, self._prev = self._prev, d
        if prev is None:
            return 0
        if prev <= 0 < d:
            return 1
        if prev >= 0 > d:
            return -1
        return 0
