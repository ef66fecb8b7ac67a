"""SMA crossover, long only.

With d = SMA_fast(close) - SMA_slow(close): a flat bot that sees d[t-1] <= 0 < d[t] buys
with all its quote balance; a long bot that sees d[t-1] >= 0 > d[t] sells everything.
The sign of d is computed exactly as sign(sum_fast * slow - sum_slow * fast), so a tie
is a tie and no float rounding invents or hides a cross.
"""

from __future__ import annotations

import decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.indicators import RollingSum
from task_station.strategies.params import Param

_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


class SmaCross(Strategy):
    name = "sma_cross"
    description = "Buy when the fast SMA crosses above the slow one; sell on the cross below."
    params = (
        Param("fast", int, 10, "bars in the fast moving average", minimum=1, maximum=10_000),
        Param("slow", int, 30, "bars in the slow moving average", minimum=2, maximum=10_000),
    )

    def check_params(self) -> None:
        if int(self.p["fast"]) >= int(self.p["slow"]):
            raise ValidationError(
                f"sma_cross: fast ({self.p['fast']}) must be smaller than slow ({self.p['slow']})"
            )

    def on_start(self, ctx: StrategyContext) -> None:
        self._fast = RollingSum(int(self.p["fast"]))
        self._slow = RollingSum(int(self.p["slow"]))
        self._prev_sign: int | None = None

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        with decimal.localcontext(_EXACT):
            self._fast.update(candle.close)
            self._slow.update(candle.close)
            if not self._slow.ready:
                return
            d = self._fast.total * self._slow.window - self._slow.total * self._fast.window
        sign = (d > 0) - (d < 0)
        prev, self._prev_sign = self._prev_sign, sign
        if prev is None or ctx.has_open_orders:
            return
        if ctx.position == ZERO and prev <= 0 < sign and ctx.cash > ZERO:
            ctx.buy(quote_quantity=ctx.cash)
        elif ctx.position > ZERO and prev >= 0 > sign:
            ctx.sell(quantity=ctx.position)
