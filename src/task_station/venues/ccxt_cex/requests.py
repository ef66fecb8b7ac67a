"""Turn a domain ``Order`` into the arguments of ccxt's ``create_order``.

Precision and minimums are applied here, before anything is sent, so that a refusal
names our numbers rather than an exchange error code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Order, OrderType, TimeInForce
from task_station.venues.base import VenueCapabilities
from task_station.venues.ccxt_cex.capabilities import CcxtFeatures


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """Arguments for ``create_order`` (or ``create_market_buy_order_with_cost``)."""

    symbol: str
    type: str  # "market" or "limit"
    side: str
    amount: Decimal | None
    price: Decimal | None
    cost: Decimal | None = None
    params: dict[str, Any] = field(default_factory=dict)


class Rounder:
    """The exchange's own rounding (``amount_to_precision``/``price_to_precision``)."""

    def __init__(self, exchange: Any) -> None:
        self._exchange = exchange

    def amount(self, symbol: str, value: Decimal) -> Decimal:
        try:
            return Decimal(str(self._exchange.amount_to_precision(symbol, str(value))))
        except ccxt.InvalidOrder:  # ccxt refuses amounts that round to zero
            return ZERO

    def price(self, symbol: str, value: Decimal) -> Decimal:
        return Decimal(str(self._exchange.price_to_precision(symbol, str(value))))


def _refuse(
    venue: str, order: Order, amount: Decimal | None, price: Decimal | None, why: str
) -> ValidationError:
    return ValidationError(
        f"{venue}: {order.side.value} {amount if amount is not None else order.quote_quantity} "
        f"{order.symbol} @ {price if price is not None else 'market'} refused before sending: "
        f"{why}"
    )


def _check_supported(
    venue: str, order: Order, caps: VenueCapabilities, extra: CcxtFeatures
) -> None:
    def no(why: str) -> ValidationError:
        return _refuse(venue, order, order.quantity, order.price, why)

    if order.type not in caps.order_types:
        raise no(f"{venue} does not support {order.type.value} orders")
    if order.time_in_force not in extra.time_in_force:
        raise no(f"{venue} does not support time in force {order.time_in_force.value}")
    if order.post_only and not extra.post_only:
        raise no(f"{venue} does not support post-only orders")
    if order.quote_quantity is not None and not caps.quote_sized_market_buy:
        raise no(f"{venue} cannot size a market buy in quote currency; give a base quantity")


def _check_limits(
    venue: str, order: Order, inst: Instrument, amount: Decimal, price: Decimal | None
) -> None:
    if amount <= ZERO:
        raise _refuse(venue, order, amount, price, "the quantity rounds to zero at the lot step")
    if amount < inst.min_size:
        raise _refuse(venue, order, amount, price, f"below the minimum size {inst.min_size}")
    if price is not None and amount * price < inst.min_notional:
        raise _refuse(
            venue,
            order,
            amount,
            price,
            f"order value {amount * price} {inst.quote} is below the minimum {inst.min_notional}",
        )


def _params(order: Order, trigger: Decimal | None) -> dict[str, Any]:
    params: dict[str, Any] = {"clientOrderId": order.client_order_id}
    if trigger is not None:
        params["triggerPrice"] = str(trigger)
    if order.time_in_force is not TimeInForce.GTC:
        params["timeInForce"] = order.time_in_force.value.upper()
    if order.post_only:
        params["postOnly"] = True
    if order.reduce_only:
        params["reduceOnly"] = True
    return params


def build_request(
    venue: str,
    order: Order,
    instrument: Instrument,
    rounder: Rounder,
    caps: VenueCapabilities,
    extra: CcxtFeatures,
) -> OrderRequest:
    """Validate ``order`` against the venue and round it; raises ``ValidationError``."""
    _check_supported(venue, order, caps, extra)
    symbol = order.symbol
    price = rounder.price(symbol, order.price) if order.price is not None else None
    trigger = (
        rounder.price(symbol, order.trigger_price) if order.trigger_price is not None else None
    )
    kind = "limit" if order.type.has_limit_price else "market"
    if order.quote_quantity is not None:
        cost = rounder.price(symbol, order.quote_quantity)
        if cost < instrument.min_notional or cost <= ZERO:
            raise _refuse(
                venue, order, None, None, f"below the minimum value {instrument.min_notional}"
            )
        return OrderRequest(symbol, kind, order.side.value, None, None, cost, _params(order, None))
    assert order.quantity is not None  # the Order invariant: one of the two is set
    amount = rounder.amount(symbol, order.quantity)
    reference = price if price is not None else trigger
    _check_limits(venue, order, instrument, amount, reference)
    if order.type is OrderType.STOP_MARKET:
        kind = "market"
    return OrderRequest(
        symbol, kind, order.side.value, amount, price, None, _params(order, trigger)
    )
