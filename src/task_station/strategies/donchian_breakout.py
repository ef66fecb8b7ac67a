"""Donchian breakout (the Turtle rules), long only, sized by volatility.

**Idea.** A close above the highest high of the last N bars is a breakout: the market
is trading where it has not been for N bars, and trends start that way. The Turtles
sized each position so that one ATR ("N") of adverse movement costs a fixed share of
equity, and cut losses with a stop two ATRs below the entry.

**Rules.**
- Entry (flat): the close is above the highest high of the previous ``entry_period``
  bars (the current bar excluded). Buy ``risk * equity / ATR`` base at market (ATR:
  Wilder's, over ``atr_period`` bars, measured at the signal), capped at 98 % of the
  free quote balance.
- Protective stop: once the entry has filled, a stop-market sell of the whole position
  rests at ``fill price - stop_atr * ATR`` (``stop_atr = 0``: no stop).
- Exit (long): the close is below the lowest low of the previous ``exit_period`` bars:
  the stop is canceled and the position sold at market. Orders fill at the next open.

**Parameters.** ``entry_period``, ``exit_period``, ``atr_period`` (bars), ``risk``
(fraction of equity lost per ATR of adverse move), ``stop_atr`` (ATRs).

**When it fails.** Most breakouts fail: long flat or choppy stretches give a string
of small losses (stopped out or exited near the entry), paid for by rare large trends.
The stop fills at the next trade through it: a gap down fills below it.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide
from task_station.strategies.base import StrategyContext
from task_station.strategies.common import (
    LongOnlySignal,
    fraction_param,
    period_param,
    round_price,
    round_size,
    to_decimal,
)
from task_station.strategies.params import Param
from task_station.strategies.ta import ATR, DonchianChannel

CASH_CAP = Decimal("0.98")


class DonchianBreakout(LongOnlySignal):
    name = "donchian_breakout"
    description = (
        "Turtle breakout: buy an N-bar high sized by ATR, exit an M-bar low or a 2-ATR stop."
    )
    params = (
        period_param("entry_period", 20, "bars whose highest high a close must beat to enter"),
        period_param("exit_period", 10, "bars whose lowest low a close must break to exit"),
        period_param("atr_period", 20, "bars in the ATR used for sizing and the stop"),
        fraction_param("risk", "0.01", "share of equity one ATR of adverse move may cost",
                       minimum="0.0001", maximum="0.5"),
        Param("stop_atr", Decimal, Decimal(2), "stop distance below the entry in ATRs (0: none)",
              minimum=Decimal(0), maximum=Decimal(20), step=Decimal("0.1")),
    )  # fmt: skip

    def check_params(self) -> None:
        if self.integer("exit_period") > self.integer("entry_period"):
            raise ValidationError(
                f"donchian_breakout: exit_period ({self.p['exit_period']}) must not exceed "
                f"entry_period ({self.p['entry_period']})"
            )

    def on_start(self, ctx: StrategyContext) -> None:
        self._high = DonchianChannel(self.integer("entry_period"), include_current=False)
        self._low = DonchianChannel(self.integer("exit_period"), include_current=False)
        self._atr = ATR(self.integer("atr_period"))
        self._entry_atr: Decimal | None = None  # set when an entry is sent
        self._stop_sent = False
        self._exiting = False

    def signal(self, candle: Candle) -> int:  # the turtle trades from on_bar directly
        self._high.update(candle)
        self._low.update(candle)
        self._atr.update(candle)
        if not (self._high.ready and self._low.ready and self._atr.ready):
            return 0
        close = float(candle.close)
        return 1 if close > self._high.upper else -1 if close < self._low.lower else 0

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        signal = self.signal(candle)
        if ctx.position > ZERO:
            if not self._stop_sent and not self._exiting:
                self._protect(ctx)
            if signal < 0 and not self._exiting:
                ctx.cancel_all()  # the stop locks the coins the exit sells
                ctx.sell(quantity=ctx.position, tag="channel exit")
                self._exiting = True
            return
        self._exiting = False
        if signal <= 0 or ctx.has_open_orders or not self._atr.ready:
            return
        atr = to_decimal(self._atr.value)
        if atr <= ZERO:
            return
        units = ctx.equity * self.dec("risk") / atr
        size = round_size(ctx.instrument, min(units, ctx.cash * CASH_CAP / candle.close))
        if size > ZERO:
            ctx.buy(quantity=size, tag="channel breakout")
            self._entry_atr, self._stop_sent = atr, False

    def _protect(self, ctx: StrategyContext) -> None:
        """Place the stop at the entry's fill price minus ``stop_atr`` ATRs."""
        self._stop_sent = True
        buys = [e.fill for e in ctx.fills if e.fill.side is OrderSide.BUY]
        if not buys or self._entry_atr is None or self.dec("stop_atr") == ZERO:
            return
        paid = sum((f.price * f.quantity for f in buys), ZERO) / sum(
            (f.quantity for f in buys), ZERO
        )
        stop = round_price(ctx.instrument, paid - self.dec("stop_atr") * self._entry_atr)
        if stop > ZERO:
            ctx.stop(OrderSide.SELL, ctx.position, stop)
