"""The order state machine: legal paths work, illegal ones name both states."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from task_station.domain.errors import InvalidOrderTransition, ValidationError
from task_station.domain.orders import (
    TRANSITIONS,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_order(**kw: object) -> Order:
    values: dict[str, object] = {
        "client_order_id": "c1",
        "venue": "paper",
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.LIMIT,
        "created_at": T0,
        "quantity": Decimal("2"),
        "price": Decimal("100"),
    }
    values.update(kw)
    return Order(**values)  # type: ignore[arg-type]


def fill(qty: str, trade: str = "t1", side: OrderSide = OrderSide.BUY) -> Fill:
    return Fill(
        trade,
        "c1",
        "BTC/USDT",
        side,
        Decimal("100"),
        Decimal(qty),
        Decimal("0.1"),
        "USDT",
        "maker",
        T0,
    )


def test_partial_then_full_fill_ends_filled_with_exact_totals() -> None:
    order = make_order().submit(T0).accept("v1", T0)
    order = order.fill(fill("0.5", "t1"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    order = order.fill(fill("1.5", "t2"))
    assert order.status is OrderStatus.FILLED
    assert order.filled_quantity == Decimal("2")
    assert order.fees == Decimal("0.2")
    assert order.average_price == Decimal("100")
    assert len(order.fills) == 2


def test_overfill_is_refused() -> None:
    order = make_order().submit(T0).accept("v1", T0)
    with pytest.raises(InvalidOrderTransition, match="overfills"):
        order.fill(fill("2.5"))


def test_same_fill_twice_is_refused() -> None:
    order = make_order().submit(T0).fill(fill("0.5"))
    with pytest.raises(InvalidOrderTransition, match="already applied"):
        order.fill(fill("0.5"))


def test_filled_order_cannot_be_canceled_and_error_names_both_states() -> None:
    order = make_order().submit(T0).fill(fill("2"))
    with pytest.raises(InvalidOrderTransition, match="from filled to canceled"):
        order.cancel(T0)


def test_initialized_order_cannot_fill() -> None:
    with pytest.raises(InvalidOrderTransition, match="from initialized"):
        make_order().fill(fill("1"))


def test_terminal_states_have_no_outgoing_transitions() -> None:
    for (state, _kind), _targets in TRANSITIONS.items():
        assert not state.is_terminal


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"quantity": Decimal("-1")}, "must be positive"),
        ({"quantity": Decimal("0")}, "must be positive"),
        ({"price": None}, "needs a positive price"),
        ({"quantity": None, "quote_quantity": None}, "exactly one"),
        ({"type": OrderType.MARKET}, "must not carry a price"),
        ({"quantity": None, "quote_quantity": Decimal("10")}, "only allowed on market buy"),
    ],
)
def test_malformed_orders_are_refused(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_order(**kw)


def test_quote_sized_market_buy_closes_on_complete_fill() -> None:
    order = make_order(
        type=OrderType.MARKET, price=None, quantity=None, quote_quantity=Decimal("1000")
    )
    order = order.submit(T0).fill(fill("9.99"), complete=True)
    assert order.status is OrderStatus.FILLED
