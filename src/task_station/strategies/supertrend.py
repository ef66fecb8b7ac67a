"""SuperTrend, long only: be long while the SuperTrend says up, flat while it says down.

**Idea.** SuperTrend draws a trailing line ``multiplier`` ATRs away from the bar's
midpoint (hl2) that only moves in the trend's direction; a close through the line
flips the trend. It is a volatility-adjusted trailing stop and reverse signal.

**Rules.** SuperTrend as TradingView defines it (Wilder ATR over ``atr_period``). When
the direction flips from down to up at a close, a flat bot buys with ``fraction`` of
its free quote balance; when it flips from up to down, a long bot sells everything.
Orders fill at the next bar's open.

**Parameters.** ``atr_period`` (bars), ``multiplier`` (ATRs), ``fraction``.

**When it fails.** Sideways markets that swing more than ``multiplier`` ATRs flip it
repeatedly (whipsaw); a large multiplier avoids that but gives back more of each trend.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.strategies.base import StrategyContext
from task_station.strategies.common import FRACTION, LongOnlySignal, period_param
from task_station.strategies.params import Param
from task_station.strategies.ta import SuperTrend


class SuperTrendFollower(LongOnlySignal):
    name = "supertrend"
    description = "Long while SuperTrend points up; flat while it points down."
    params = (
        period_param("atr_period", 10, "bars in the ATR"),
        Param(
            "multiplier", Decimal, Decimal(3), "distance of the line from hl2, in ATRs",
            minimum=Decimal("0.1"), maximum=Decimal(20), step=Decimal("0.1"),
        ),
        FRACTION,
    )  # fmt: skip

    def on_start(self, ctx: StrategyContext) -> None:
        self._st = SuperTrend(self.integer("atr_period"), self.dec("multiplier"))
        self._prev: int | None = None

    def signal(self, candle: Candle) -> int:
        self._st.update(candle)
        if not self._st.ready:
            return 0
        direction = self._st.direction
        prev, self._prev = self._prev, direction
        if prev is None or prev == direction:
            return 0
        return 1 if direction > 0 else -1
