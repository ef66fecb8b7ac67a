"""Binance ``POST /api/v3/order`` parameters to a domain ``Order``, with Binance errors.

Filter failures are checked here, before the engine, so the client gets Binance's own
``-1013 Filter failure: ...`` answers (ccxt maps them to ``InvalidOrder``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderSide, OrderType, TimeInForce
from task_station.venues.simulator.binance_format import market_id

Json = dict[str, object]

KINDS = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
}
_auto_ids: Callable[[], int] = itertools.count(1).__next__


def error(code: int, msg: str) -> Json:
    return {"code": code, "msg": msg}


def _dec(params: Mapping[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"Illegal characters found in parameter '{name}'.") from None


def parse_order(
    params: Mapping[str, str], inst: Instrument, now: datetime, last: Decimal | None
) -> Order | Json:
    """Build the order, or return the Binance error the real exchange would send."""
    if params.get("symbol") != market_id(inst):
        return error(-1121, "Invalid symbol.")
    kind = KINDS.get(params.get("type", ""))
    if kind is None:
        return error(-1116, "Invalid orderType.")
    try:
        side = OrderSide(params.get("side", "").lower())
        qty, quote = _dec(params, "quantity"), _dec(params, "quoteOrderQty")
        price, stop = _dec(params, "price"), _dec(params, "stopPrice")
    except ValueError as exc:
        return error(-1100, str(exc))
    tif_raw = params.get("timeInForce", "GTC").lower()
    tif = TimeInForce(tif_raw) if tif_raw in ("gtc", "ioc", "fok") else None
    if tif is None:
        return error(-1115, "Invalid timeInForce.")
    problem = _filters(inst, qty, price, stop, quote, last)
    if problem is not None:
        return problem
    try:
        return Order(
            client_order_id=params.get("newClientOrderId") or f"sim-{_auto_ids()}",
            venue="simulator",
            symbol=inst.symbol,
            side=side,
            type=kind,
            created_at=now,
            quantity=qty,
            quote_quantity=quote,
            price=price if kind.has_limit_price else None,
            trigger_price=stop if kind.is_stop else None,
            time_in_force=tif if kind is not OrderType.MARKET else TimeInForce.IOC,
            post_only=params.get("type") == "LIMIT_MAKER",
        )
    except (ValidationError, ValueError) as exc:
        return error(-1102, f"Mandatory parameter missing or malformed: {exc}")


def _filters(
    inst: Instrument,
    qty: Decimal | None,
    price: Decimal | None,
    stop: Decimal | None,
    quote: Decimal | None,
    last: Decimal | None,
) -> Json | None:
    tick, step = inst.price_increment, inst.size_increment
    for value in (price, stop):
        if value is not None and (value <= 0 or (tick is not None and value % tick != 0)):
            return error(-1013, "Filter failure: PRICE_FILTER")
    if qty is not None and (
        qty < inst.min_size or qty <= 0 or (step is not None and qty % step != 0)
    ):
        return error(-1013, "Filter failure: LOT_SIZE")
    reference = price or last
    notional = quote if quote is not None else (qty * reference if qty and reference else None)
    if notional is not None and notional < inst.min_notional:
        return error(-1013, "Filter failure: NOTIONAL")
    return None


def rejection(reason: str) -> Json:
    """The Binance error for an order the engine refused."""
    if "post-only" in reason:
        return error(-2010, "Order would immediately match and take.")
    if " free" in reason or "insufficient" in reason:
        return error(-2010, "Account has insufficient balance for requested action.")
    return error(-2010, reason)
