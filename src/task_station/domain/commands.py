"""Commands: immutable requests that something be done."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: str
    bot_id: str | None = None
