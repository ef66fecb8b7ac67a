"""Grid trading, spot: buy each level on the way down, sell it one level up.

**Idea.** In a market that oscillates inside a range, every swing between two
neighbouring price levels can be harvested: buy a small amount at a level, sell it at
the next level up, and repeat as the price moves back and forth.

**Rules.**
- Levels: ``levels`` prices from ``lower`` to ``upper`` (both included), spaced equally
  (``arithmetic``) or by a constant ratio (``geometric``: the same percentage step at
  every level), rounded to the tick. ``lower = upper = 0`` centres the grid on the
  first close, ``auto_range`` (a fraction) above and below it.
- Each pair of neighbouring levels is a *slot* with an equal share of the ``budget``
  (quote currency; 0 = the free quote balance at the start). An empty slot rests a
  limit buy at its lower level while that level is below the close, sized to its share
  (less ``fee_reserve`` for fees); once bought, it rests a limit sell of what it holds
  at its upper level; once sold, it goes back to buying. Fills are matched to slots by
  their order's price, so orders are rebuilt as fills happen.
- The grid starts holding only quote currency; it never commits more than the budget:
  each slot holds either a resting buy or the coins that buy paid for.

**Parameters.** ``lower``, ``upper``, ``auto_range``, ``levels`` (>= 2), ``spacing``
(arithmetic or geometric), ``budget``, ``fee_reserve``.

**When it fails.** Trends: below ``lower`` every slot is bought and the bot holds a
losing inventory; above ``upper`` everything is sold and it sits in cash while the
market rallies. Levels closer than the fees earn nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.common import choice, fraction_param, round_price, round_size
from task_station.strategies.params import Param

SPACINGS = ("arithmetic", "geometric")


@dataclass(slots=True)
class Slot:
    buy_price: Decimal
    sell_price: Decimal
    size: Decimal  # base bought at buy_price
    held: Decimal = ZERO
    buying: bool = False  # a buy rests (or is queued) at buy_price
    selling: bool = False  # a sell rests (or is queued) at sell_price


def grid_levels(lower: Decimal, upper: Decimal, n: int, spacing: str) -> list[Decimal]:
    """``n`` prices from ``lower`` to ``upper``, unrounded."""
    if spacing == "arithmetic":
        step = (upper - lower) / (n - 1)
        return [lower + step * i for i in range(n)]
    ratio = upper / lower
    return [lower * ratio ** (Decimal(i) / (n - 1)) for i in range(n)]


class Grid(Strategy):
    name = "grid"
    description = "Rest buys at grid levels below the price; sell each fill one level up."
    params = (
        Param("lower", Decimal, Decimal(0), "lowest grid price (0 with upper 0: automatic)",
              minimum=Decimal(0)),
        Param("upper", Decimal, Decimal(0), "highest grid price (0 with lower 0: automatic)",
              minimum=Decimal(0)),
        fraction_param("auto_range", "0.1", "automatic bounds: this fraction around the first close",
                       minimum="0.001", maximum="0.9"),
        Param("levels", int, 10, "number of price levels", minimum=2, maximum=500, step=1),
        Param("spacing", str, "arithmetic", "arithmetic (equal price steps) or geometric (equal %)"),
        Param("budget", Decimal, Decimal(0), "quote currency the grid may commit (0: all free)",
              minimum=Decimal(0)),
        fraction_param("fee_reserve", "0.002", "share of each slot kept aside for fees",
                       maximum="0.1"),
    )  # fmt: skip

    def check_params(self) -> None:
        choice(self.name, "spacing", self.p["spacing"], SPACINGS)
        lower, upper = self._dec("lower"), self._dec("upper")
        if (lower == ZERO) != (upper == ZERO):
            raise ValidationError("grid: give both lower and upper, or neither (automatic)")
        if lower > ZERO and lower >= upper:
            raise ValidationError(f"grid: lower ({lower}) must be below upper ({upper})")

    def _dec(self, name: str) -> Decimal:
        value = self.p[name]
        assert isinstance(value, Decimal)
        return value

    def on_start(self, ctx: StrategyContext) -> None:
        self.levels: list[Decimal] = []
        self.slots: list[Slot] = []
        self.budget = ZERO

    def _setup(self, ctx: StrategyContext, candle: Candle) -> None:
        lower, upper = self._dec("lower"), self._dec("upper")
        if lower == ZERO:
            spread = candle.close * self._dec("auto_range")
            lower, upper = candle.close - spread, candle.close + spread
        n = self.p["levels"]
        assert isinstance(n, int)
        raw = grid_levels(lower, upper, n, str(self.p["spacing"]))
        self.levels = [round_price(ctx.instrument, p) for p in raw]
        if any(a >= b for a, b in zip(self.levels, self.levels[1:], strict=False)):
            raise ValidationError("grid: the levels are closer than the price tick; use fewer")
        self.budget = self._dec("budget") or ctx.cash
        share = self.budget / (n - 1) / (1 + self._dec("fee_reserve"))
        for buy, sell in zip(self.levels, self.levels[1:], strict=False):
            self.slots.append(Slot(buy, sell, round_size(ctx.instrument, share / buy)))
        if self.budget > ctx.cash:
            ctx.log(f"grid budget {self.budget} exceeds the free balance {ctx.cash}")

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        if not self.slots:
            self._setup(ctx, candle)
        self._apply_fills(ctx)
        self._forget_vanished(ctx)
        for slot in self.slots:
            if slot.buying or slot.selling:
                continue
            if slot.held > ZERO:
                ctx.sell(quantity=slot.held, price=slot.sell_price, tag="grid sell")
                slot.selling = True
            elif slot.buy_price < candle.close and slot.size > ZERO:
                ctx.buy(quantity=slot.size, price=slot.buy_price, tag="grid buy")
                slot.buying = True

    def _apply_fills(self, ctx: StrategyContext) -> None:
        by_buy = {s.buy_price: s for s in self.slots}
        by_sell = {s.sell_price: s for s in self.slots}
        for event in ctx.fills:
            order, fill = event.order, event.fill
            slot = (by_buy if order.side is OrderSide.BUY else by_sell).get(order.price or ZERO)
            if slot is None:
                continue
            done = order.status.is_terminal
            if order.side is OrderSide.BUY:
                slot.held += fill.quantity
                slot.buying = slot.buying and not done
            else:
                slot.held -= fill.quantity
                slot.selling = slot.selling and not done

    def _forget_vanished(self, ctx: StrategyContext) -> None:
        """An order no longer working and not (fully) filled was refused or canceled."""
        working = {(o.side, o.price) for o in ctx.open_orders}
        for slot in self.slots:
            if slot.buying and (OrderSide.BUY, slot.buy_price) not in working:
                slot.buying = False
            if slot.selling and (OrderSide.SELL, slot.sell_price) not in working:
                slot.selling = False
