"""DCA with safety orders, spot, long only: average down, take profit on the average.

**Idea.** Buy a first (base) order at market; if the price falls, buy more at preset
deviations below the entry so the average price falls with it; sell everything once
the price is a fixed percentage above that average. A small bounce after a fall is
then enough to close the cycle in profit.

**Rules.**
- A cycle starts with a market buy spending ``base_order`` (quote currency).
- When it fills at price P, ``max_safety_orders`` limit buys rest below it. Safety
  order k (1-based) rests at P * (1 - D_k) with D_1 = ``deviation`` and D_k = D_(k-1) +
  ``deviation`` * ``step_scale`` ** (k - 1), and spends ``safety_order`` *
  ``volume_scale`` ** (k - 1) quote currency.
- A take-profit limit sell of the whole position rests at A * (1 + ``take_profit``),
  A being the average fill price of the cycle's buys; each safety fill moves it (it is
  canceled and placed again at the new average).
- When the take-profit fills, the remaining safety orders are canceled and, with
  ``restart``, a new cycle starts on the next bar.

**Parameters.** ``base_order``, ``safety_order`` (quote), ``max_safety_orders``,
``deviation``, ``take_profit`` (fractions: 0.01 = 1 %), ``step_scale``,
``volume_scale`` (>= 1 widens the steps and grows the orders).

**When it fails.** A fall deeper than the last safety order leaves a large position
bought on the way down and no more cash to average with; the cycle then waits, maybe
for a long time, for a recovery to the average. It never sells at a loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide, OrderType
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.common import fraction_param, round_price, round_size
from task_station.strategies.params import Param


@dataclass(slots=True)
class Cycle:
    base_sent: bool = False
    base_price: Decimal | None = None
    held: Decimal = ZERO
    cost: Decimal = ZERO  # notional paid for ``held`` (fees excluded)
    safety_placed: bool = False

    @property
    def average(self) -> Decimal:
        return self.cost / self.held


def safety_levels(
    base_price: Decimal,
    n: int,
    deviation: Decimal,
    step_scale: Decimal,
    safety_order: Decimal,
    volume_scale: Decimal,
) -> list[tuple[Decimal, Decimal]]:
    """``(price, quote to spend)`` of each safety order, unrounded."""
    out: list[tuple[Decimal, Decimal]] = []
    total = ZERO
    for k in range(1, n + 1):
        total += deviation * step_scale ** (k - 1)
        out.append((base_price * (1 - total), safety_order * volume_scale ** (k - 1)))
    return out


class Dca(Strategy):
    name = "dca"
    description = "Base order, safety orders below it, take profit on the average price."
    params = (
        Param("base_order", Decimal, Decimal(100), "quote spent by the first buy of a cycle",
              minimum=Decimal(0)),
        Param("safety_order", Decimal, Decimal(100), "quote spent by the first safety order",
              minimum=Decimal(0)),
        Param("max_safety_orders", int, 5, "safety orders per cycle", minimum=0, maximum=100,
              step=1),
        fraction_param("deviation", "0.01", "drop below the base price to the first safety order",
                       minimum="0.0001", maximum="0.5"),
        Param("step_scale", Decimal, Decimal(1), "each deviation step is this times the last",
              minimum=Decimal("0.1"), maximum=Decimal(10)),
        Param("volume_scale", Decimal, Decimal(1), "each safety order is this times the last",
              minimum=Decimal("0.1"), maximum=Decimal(10)),
        fraction_param("take_profit", "0.01", "rise above the average price to sell at",
                       minimum="0.0001", maximum="10"),
        Param("restart", bool, True, "start a new cycle after a take-profit"),
    )  # fmt: skip

    def _dec(self, name: str) -> Decimal:
        value = self.p[name]
        assert isinstance(value, Decimal)
        return value

    def on_start(self, ctx: StrategyContext) -> None:
        self.cycle: Cycle | None = Cycle()
        self.cycles_done = 0

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        cycle = self.cycle
        if cycle is None:
            return
        move_tp = self._apply_fills(ctx, cycle)
        if not cycle.base_sent:
            spend = min(self._dec("base_order"), ctx.cash)
            if spend > ZERO:
                ctx.buy(quote_quantity=spend, tag="dca base order")
                cycle.base_sent = True
            return
        if cycle.base_price is None:
            if not ctx.has_open_orders:  # the base order was refused: try again next bar
                cycle.base_sent = False
            return
        if cycle.held <= ZERO:  # the take-profit sold everything: the cycle is over
            ctx.cancel_all()
            self.cycles_done += 1
            self.cycle = Cycle() if self.p["restart"] else None
            return
        if not cycle.safety_placed:
            self._place_safety_orders(ctx, cycle.base_price)
            cycle.safety_placed = True
        if move_tp:
            for order in ctx.open_orders:
                if order.side is OrderSide.SELL:
                    ctx.cancel(order.client_order_id)
            price = round_price(
                ctx.instrument, cycle.average * (1 + self._dec("take_profit")), up=True
            )
            ctx.sell(quantity=cycle.held, price=price, tag="dca take profit")

    def _apply_fills(self, ctx: StrategyContext, cycle: Cycle) -> bool:
        """Book this bar's fills into the cycle; True if the take-profit must move."""
        moved = False
        for event in ctx.fills:
            fill = event.fill
            if fill.side is OrderSide.BUY:
                if event.order.type is OrderType.MARKET and cycle.base_price is None:
                    cycle.base_price = fill.price
                cycle.held += fill.quantity
                cycle.cost += fill.price * fill.quantity
            else:
                cycle.cost -= cycle.average * fill.quantity
                cycle.held -= fill.quantity
            moved = True
        return moved and cycle.held > ZERO

    def _place_safety_orders(self, ctx: StrategyContext, base_price: Decimal) -> None:
        n = self.p["max_safety_orders"]
        assert isinstance(n, int)
        levels = safety_levels(
            base_price, n, self._dec("deviation"), self._dec("step_scale"),
            self._dec("safety_order"), self._dec("volume_scale"),
        )  # fmt: skip
        for price, quote in levels:
            price = round_price(ctx.instrument, price)
            if price <= ZERO:
                break
            size = round_size(ctx.instrument, quote / price)
            if size > ZERO:
                ctx.buy(quantity=size, price=price, tag="dca safety order")
