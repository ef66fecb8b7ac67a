"""What the built-in families share: rounding onto the venue's grid, parameter helpers,
and the long-only base of the signal families.

Fractions are fractions everywhere (0.02 means 2 %). Indicators come from
``strategies.ta`` and are floats (analytics); anything that becomes an order price or
size goes back to ``Decimal`` here and is rounded onto the instrument's tick and lot.
"""

from __future__ import annotations

from abc import abstractmethod
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.params import Param, ParamValue

#: Finest step where the instrument declares none (the paper venue takes twelve decimals).
FINEST_STEP = Decimal("1e-12")


def to_decimal(x: float) -> Decimal:
    """A float indicator value as the decimal it prints as."""
    return Decimal(repr(x))


def round_price(instrument: Instrument, value: Decimal, *, up: bool = False) -> Decimal:
    step = instrument.price_increment or FINEST_STEP
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    return (value / step).to_integral_value(rounding=rounding) * step


def round_size(instrument: Instrument, value: Decimal) -> Decimal:
    """Down to the lot step: never more than we can pay for or hold."""
    step = instrument.size_increment or FINEST_STEP
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def fraction_param(
    name: str, default: str, description: str, *, minimum: str = "0", maximum: str = "1"
) -> Param:
    return Param(
        name, Decimal, Decimal(default), description, minimum=Decimal(minimum),
        maximum=Decimal(maximum),
    )  # fmt: skip


def period_param(name: str, default: int, description: str, minimum: int = 1) -> Param:
    return Param(name, int, default, description, minimum=minimum, maximum=10_000, step=1)


def choice(strategy: str, name: str, value: ParamValue, choices: tuple[str, ...]) -> str:
    """Check a text parameter against its choices, naming them in the error."""
    if value not in choices:
        raise ValidationError(
            f"{strategy}: parameter {name!r} must be one of {', '.join(choices)}, got {value!r}"
        )
    return str(value)


def side_param(default: str = "buy") -> Param:
    return Param("side", str, default, "buy or sell the parent quantity")


def parse_side(strategy: str, value: ParamValue) -> OrderSide:
    return OrderSide(choice(strategy, "side", value, ("buy", "sell")))


FRACTION = fraction_param(
    "fraction", "1", "share of the free quote balance spent on an entry (1 = all of it)",
    minimum="0.01",
)  # fmt: skip


class LongOnlySignal(Strategy):
    """Spot, long only: a flat bot that sees an entry signal spends ``fraction`` of its
    free quote balance at market; a long bot that sees an exit signal sells everything.

    Subclasses feed their indicators in ``signal(candle)`` (called on every bar, even
    when nothing can be done, so the indicators never miss a bar) and return +1 (entry),
    -1 (exit) or 0. Orders go out at the bar's close and fill at the next bar's open.
    """

    @abstractmethod
    def signal(self, candle: Candle) -> int:
        """+1 to enter, -1 to exit, 0 to do nothing."""

    def dec(self, name: str) -> Decimal:
        value = self.p[name]
        assert isinstance(value, Decimal), name
        return value

    def integer(self, name: str) -> int:
        value = self.p[name]
        assert isinstance(value, int) and not isinstance(value, bool), name
        return value

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        signal = self.signal(candle)
        if signal == 0 or ctx.has_open_orders:
            return
        if signal > 0 and ctx.position <= ZERO and ctx.cash > ZERO:
            ctx.buy(quote_quantity=ctx.cash * self.dec("fraction"), tag=f"{self.name} entry")
        elif signal < 0 and ctx.position > ZERO:
            ctx.sell(quantity=ctx.position, tag=f"{self.name} exit")
