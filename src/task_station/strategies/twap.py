"""TWAP execution: split a parent order into equal slices spread evenly over time.

**Idea.** A large order sent at once moves the price against itself. Cutting it into
equal child orders sent at regular intervals gets roughly the time-weighted average
price of the period and leaves little footprint at any one moment.

**Rules.** From the first bar, ``slices`` market orders of ``quantity / slices`` base
(rounded down to the lot; the last slice takes the remainder) are sent; slice k
(0-based) goes out at the close of bar floor(k * ``horizon_bars`` / ``slices``), so
every slice has filled by the open of bar ``horizon_bars`` after the start. Then the
strategy does nothing more.

**Parameters.** ``side`` (buy or sell), ``quantity`` (base), ``horizon_bars``,
``slices`` (<= horizon_bars).

**When it fails.** It ignores prices and volumes: a schedule that is too short for the
market's depth still moves the price, a slice that lands in a quiet bar pays a wider
spread, and a trending market makes the later slices dearer (VWAP follows the volume
instead). A slice the account cannot pay for is refused, not retried.
"""

from __future__ import annotations

from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.common import parse_side, period_param, round_size, side_param
from task_station.strategies.params import Param


def execution_params(horizon: int) -> tuple[Param, Param, Param]:
    return (
        side_param(),
        Param("quantity", Decimal, Decimal(1), "parent quantity to execute, in base",
              minimum=Decimal(0)),
        period_param("horizon_bars", horizon, "bars over which the parent is executed"),
    )  # fmt: skip


def send(ctx: StrategyContext, side: OrderSide, quantity: Decimal) -> None:
    if quantity <= ZERO:
        return
    if side is OrderSide.BUY:
        ctx.buy(quantity=quantity, tag="twap slice")
    else:
        ctx.sell(quantity=quantity, tag="twap slice")


class Twap(Strategy):
    name = "twap"
    description = "Execute a parent quantity in equal market slices spread over a horizon."
    params = (*execution_params(10), period_param("slices", 10, "number of child orders"))

    def check_params(self) -> None:
        self.side = parse_side(self.name, self.p["side"])
        quantity, slices, horizon = self.p["quantity"], self.p["slices"], self.p["horizon_bars"]
        assert isinstance(quantity, Decimal) and isinstance(slices, int)
        assert isinstance(horizon, int)
        if quantity <= ZERO:
            raise ValidationError("twap: quantity must be positive")
        if slices > horizon:
            raise ValidationError(
                f"twap: slices ({slices}) cannot exceed horizon_bars ({horizon}): one slice a bar"
            )
        self.quantity, self.slices, self.horizon = quantity, slices, horizon

    def on_start(self, ctx: StrategyContext) -> None:
        self.bar = -1
        self.sent: list[Decimal] = []
        piece = round_size(ctx.instrument, self.quantity / self.slices)
        if piece <= ZERO:
            raise ValidationError(
                f"twap: {self.quantity} in {self.slices} slices is less than one lot each"
            )
        self.sizes = [piece] * (self.slices - 1) + [self.quantity - piece * (self.slices - 1)]

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        self.bar += 1
        k = len(self.sent)
        while k < self.slices and k * self.horizon // self.slices <= self.bar:
            send(ctx, self.side, self.sizes[k])
            self.sent.append(self.sizes[k])
            k += 1
