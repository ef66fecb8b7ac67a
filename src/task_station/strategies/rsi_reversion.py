"""RSI mean reversion, long only: buy oversold, sell overbought.

**Idea.** Wilder's relative strength index compares the average gain with the average
loss of the last ``period`` bars on a 0..100 scale. Far below 50, sellers have pushed
hard and a bounce is likely in a range-bound market; far above 50, the move is
stretched the other way.

**Rules.** RSI is Wilder's (smoothing 1/period, seeded with the plain mean of the first
``period`` changes). A flat bot that sees RSI < ``lower`` at a close buys with
``fraction`` of its free quote balance; a long bot that sees RSI > ``upper`` sells
everything. Between the thresholds it holds what it has. Orders fill at the next open.

**Parameters.** ``period`` (bars), ``lower`` < ``upper`` (RSI levels, 0..100),
``fraction``.

**When it fails.** In a strong trend RSI can stay "oversold" while the price keeps
falling: the bot buys early and holds a loser until the market turns (there is no
stop). In a strong uptrend it sells early and sits out the move.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.strategies.base import StrategyContext
from task_station.strategies.common import FRACTION, LongOnlySignal, period_param
from task_station.strategies.params import Param
from task_station.strategies.ta import RSI


class RsiReversion(LongOnlySignal):
    name = "rsi_reversion"
    description = "Buy when RSI falls below the lower level; sell when it rises above the upper."
    params = (
        period_param("period", 14, "bars in Wilder's RSI", minimum=2),
        Param("lower", Decimal, Decimal(30), "buy below this RSI", Decimal(0), Decimal(100)),
        Param("upper", Decimal, Decimal(70), "sell above this RSI", Decimal(0), Decimal(100)),
        FRACTION,
    )

    def check_params(self) -> None:
        if self.dec("lower") >= self.dec("upper"):
            raise ValidationError(
                f"rsi_reversion: lower ({self.p['lower']}) must be below upper ({self.p['upper']})"
            )

    def on_start(self, ctx: StrategyContext) -> None:
        self._rsi = RSI(self.integer("period"))
        self._lower = float(self.dec("lower"))
        self._upper = float(self.dec("upper"))

    def signal(self, candle: Candle) -> int:
        self._rsi.update(candle.close)
        if not self._rsi.ready:
            return 0
        rsi = self._rsi.value
        return 1 if rsi < self._lower else -1 if rsi > self._upper else 0
