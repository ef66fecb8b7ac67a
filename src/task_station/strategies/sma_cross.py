"""SMA crossover, long only.

With d = SMA_fast(close) - SMA_slow(close): a flat bot that sees d[t-1] <= 0 < d[t] buys
with all its quote balance; a long bot that sees d[t-1] >= 0 > d[t] sells everything.
The sign of d is computed exactly as sign(sum_fast * slow - sum_slow * fast), so a tie
is a tie and no float rounding invents or hides a cross (``SmaCrossSign``: bar by bar
live, in int64 over a whole backtest).
"""

from __future__ import annotations

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.indicators import SmaCrossSign
from task_station.strategies.params import Param


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

    def warmup_bars(self) -> int:
        # the first cross needs d at two bars: slow bars for the first, one more after
        return int(self.p["slow"])

    def on_start(self, ctx: StrategyContext) -> None:
        # wake: on a bar where the sign does not change this strategy does nothing
        self._sign = ctx.indicator(
            SmaCrossSign(int(self.p["fast"]), int(self.p["slow"])), wake=True
        )
        self._prev_sign: int | None = None

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        sign = self._sign.value
        prev, self._prev_sign = self._prev_sign, sign
        if sign is None or prev is None or sign == prev or ctx.has_open_orders:
            return
        if prev <= 0 < sign:
            if ctx.position == ZERO and ctx.cash > ZERO:
                ctx.buy(quote_quantity=ctx.cash, tag="sma cross up")
        elif prev >= 0 > sign and ctx.position > ZERO:
            ctx.sell(quantity=ctx.position, tag="sma cross down")
