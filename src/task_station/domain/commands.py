"""Commands: immutable requests that something be done."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.fast_init import fast_init
from task_station.domain.orders import OrderSide, OrderType, TimeInForce


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """A strategy's or trader's request to trade. Sized in base units or, for a market
    buy, in quote currency to spend (fee included)."""

    symbol: str
    side: OrderSide
    type: OrderType = OrderType.MARKET
    quantity: Decimal | None = None
    quote_quantity: Decimal | None = None
    price: Decimal | None = None
    bot_id: str | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    #: Why the order was sent ("sma cross up", "stop loss"): the trade table's entry and
    #: exit reasons. Free text for the trader, never parsed.
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: str
    bot_id: str | None = None


fast_init(SubmitOrder)  # one per order sent (domain/fast_init.py)
