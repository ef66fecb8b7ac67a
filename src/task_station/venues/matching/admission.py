"""Checks an order must pass before it rests, and the funds it locks.

Every refusal is a sentence the trader can act on: which limit, which amount, what is
free. Nothing here mutates the engine except the final lock of the order's funds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from task_station.domain.errors import ValidationError
from task_station.domain.orders import Order, OrderSide, OrderType
from task_station.venues.matching.model import WorkingOrder

if TYPE_CHECKING:
    from task_station.venues.matching.engine import MatchingEngine


def admit(engine: MatchingEngine, order: Order, now_ms: int) -> WorkingOrder | str:
    """Build the working order for ``order`` and lock its funds, or say why not."""
    inst = engine.instrument
    if order.symbol != inst.symbol:
        return f"{engine.name} trades {inst.symbol}, not {order.symbol}"
    problem = _shape_problem(engine, order)
    if problem is not None:
        return problem
    side = order.side.sign
    lots = engine.sizes.to_int(order.quantity) if order.quantity is not None else 0
    ticks = engine.prices.to_int(order.price) if order.price is not None else 0
    w = WorkingOrder(
        order.client_order_id,
        side,
        order.type,
        lots,
        order.price,
        ticks,
        trigger=order.trigger_price,
        quote=order.quote_quantity,
        tif=order.time_in_force,
        post_only=order.post_only,
        reduce_only=order.reduce_only,
        eligible_ms=now_ms + engine.config.latency_ms,
    )
    problem = _post_only_problem(engine, w) or _lock_funds(engine, order, w)
    return problem if problem is not None else w


def _shape_problem(engine: MatchingEngine, order: Order) -> str | None:
    inst = engine.instrument
    try:
        if order.quantity is not None:
            inst.check_order(order.quantity, order.price)
    except ValidationError as exc:
        return str(exc)
    checks = (
        (order.price, engine.prices, "price", inst.price_increment),
        (order.trigger_price, engine.prices, "trigger price", inst.price_increment),
        (order.quantity, engine.sizes, "quantity", inst.size_increment),
    )
    for value, scale, label, step in checks:
        if value is not None and not scale.is_aligned(value):
            return f"{inst.symbol}: {label} {value} is not a multiple of the step {step}"
        if value is not None:
            try:
                scale.to_int(value)
            except ValueError as exc:
                return f"{inst.symbol}: {label} {exc}"
    if order.reduce_only and order.side is OrderSide.BUY:
        return f"{inst.symbol}: a reduce-only buy would increase a spot position"
    return None


def _post_only_problem(engine: MatchingEngine, w: WorkingOrder) -> str | None:
    if not w.post_only:
        return None
    ref = engine.reference_price(w.side)  # the opposite best it must not reach
    assert w.price is not None
    if ref is not None and (w.price >= ref if w.side > 0 else w.price <= ref):
        side = "buy" if w.side > 0 else "sell"
        return (
            f"{engine.instrument.symbol}: post-only {side} at {w.price} would take "
            f"liquidity (market at {ref}); move the price away from the market"
        )
    return None


def _lock_funds(engine: MatchingEngine, order: Order, w: WorkingOrder) -> str | None:
    inst, ledger = engine.instrument, engine.ledger
    if w.side < 0:
        assert order.quantity is not None
        free = ledger.available(inst.base)
        need = order.quantity
        if w.reduce_only:
            need = min(need, free)  # reduced to what is held
            if need <= 0:
                return f"{inst.symbol}: reduce-only sell but no {inst.base} is held to reduce"
        elif need > free:
            return f"sell {need} {inst.base} but only {ledger.describe(inst.base)}"
        w.locked = need
        ledger.lock(inst.base, need)
        return None
    cost, per_lot = _buy_lock(engine, order)
    if cost is None:
        return None  # a base-sized market buy: its cost is known only at the fill
    if cost > ledger.available(inst.quote):
        what = f"{order.quantity} {inst.base}" if order.quantity is not None else inst.base
        return f"buy {what} needs up to {cost} {inst.quote} but only {ledger.describe(inst.quote)}"
    w.locked, w.lock_per_lot = cost, per_lot
    ledger.lock(inst.quote, cost)
    return None


def _buy_lock(engine: MatchingEngine, order: Order) -> tuple[Decimal | None, Decimal]:
    if order.quote_quantity is not None:
        return order.quote_quantity, Decimal(0)
    if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        assert order.price is not None and order.quantity is not None
        per_unit = order.price * (1 + engine.max_fee)
        return order.quantity * per_unit, engine.lot_size * per_unit
    return None, Decimal(0)
