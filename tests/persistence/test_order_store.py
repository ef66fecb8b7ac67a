"""``SqlOrderStore``: round trips, conflicts, atomic and idempotent fills."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC
from decimal import Decimal

import pytest

from task_station.domain.errors import ConflictError, NotFoundError, ValidationError
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.persistence import Database

from .factories import BIG, PLUS_TWO, at, fill_for, limit_buy


def _accepted(order: Order) -> Order:
    return order.submit(at(0.1)).accept("v-1", at(0.2))


def test_new_order_round_trips_equal(database: Database) -> None:
    order = limit_buy(quantity=str(BIG), price="0.000000000000000001")
    database.orders.add(order)
    assert database.orders.get(order.client_order_id) == order


def test_quote_sized_market_order_round_trips_equal(database: Database) -> None:
    order = Order(
        client_order_id="q-1",
        venue="paper",
        symbol="ETH/USDT",
        side=OrderSide.BUY,
        type=OrderType.MARKET,
        created_at=at(0).astimezone(PLUS_TWO),
        quote_quantity=BIG,
        bot_id=None,
    )
    database.orders.add(order)
    back = database.orders.get("q-1")
    assert back == order
    assert back is not None and back.created_at.tzinfo is UTC


def test_unknown_order_get_returns_none(database: Database) -> None:
    assert database.orders.get("nope") is None


def test_duplicate_add_raises_conflict_and_keeps_table(database: Database) -> None:
    first = limit_buy("dup", price="1")
    database.orders.add(first)
    with pytest.raises(ConflictError, match="order dup already exists"):
        database.orders.add(limit_buy("dup", price="2"))
    assert database.orders.list() == [first]


def test_update_of_unknown_raises_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError, match="order ghost"):
        database.orders.update(limit_buy("ghost"))


def test_update_persists_new_state(database: Database) -> None:
    order = limit_buy()
    database.orders.add(order)
    accepted = _accepted(order)
    database.orders.update(accepted)
    assert database.orders.get(order.client_order_id) == accepted
    canceled = accepted.cancel(at(5), reason="trader asked")
    database.orders.update(canceled)
    assert database.orders.get(order.client_order_id) == canceled


def test_order_with_fills_round_trips_equal(database: Database) -> None:
    order = _accepted(limit_buy(quantity="3"))
    database.orders.add(order)
    first = order.fill(fill_for(order, "t-1", "1", ts=2))
    database.orders.record_fill(first, first.fills[-1])
    second = first.fill(fill_for(order, "t-2", "2", "99.25", ts=3))
    database.orders.record_fill(second, second.fills[-1])
    back = database.orders.get(order.client_order_id)
    assert back == second
    assert back is not None and back.status is OrderStatus.FILLED
    assert [f.trade_id for f in back.fills] == ["t-1", "t-2"]


def test_fills_with_equal_ts_come_back_in_insertion_order(database: Database) -> None:
    order = _accepted(limit_buy(quantity="3"))
    database.orders.add(order)
    state = order
    for trade_id in ("z", "a", "m"):
        state = state.fill(fill_for(order, trade_id, "1", ts=7))
        database.orders.record_fill(state, state.fills[-1])
    back = database.orders.get(order.client_order_id)
    assert back is not None and [f.trade_id for f in back.fills] == ["z", "a", "m"]


def test_record_fill_twice_changes_nothing(database: Database) -> None:
    order = _accepted(limit_buy(quantity="3"))
    database.orders.add(order)
    filled = order.fill(fill_for(order, "t-1", "1"))
    database.orders.record_fill(filled, filled.fills[-1])
    # A replay carrying a different (wrong) state must not overwrite anything.
    replayed = replace(filled, filled_quantity=Decimal("2"), reason="replay")
    database.orders.record_fill(replayed, filled.fills[-1])
    assert database.orders.get(order.client_order_id) == filled
    assert len(database.orders.list_fills()) == 1


def test_record_fill_of_unknown_order_raises_not_found(database: Database) -> None:
    order = _accepted(limit_buy("ghost"))
    filled = order.fill(fill_for(order, "t-1", "1"))
    with pytest.raises(NotFoundError):
        database.orders.record_fill(filled, filled.fills[-1])
    assert database.orders.list_fills() == []


def test_record_fill_of_other_order_raises_validation(database: Database) -> None:
    order = _accepted(limit_buy("mine"))
    database.orders.add(order)
    other = fill_for(limit_buy("theirs"), "t-9", "1")
    with pytest.raises(ValidationError, match="belongs to theirs"):
        database.orders.record_fill(order, other)
    assert database.orders.get("mine") == order


def test_same_trade_id_on_two_orders_both_stored(database: Database) -> None:
    a, b = _accepted(limit_buy("a")), _accepted(limit_buy("b"))
    for order in (a, b):
        database.orders.add(order)
        filled = order.fill(fill_for(order, "t-1", "1"))
        database.orders.record_fill(filled, filled.fills[-1])
    assert len(database.orders.list_fills()) == 2


def test_list_returns_newest_first_with_filters(database: Database) -> None:
    old = limit_buy("old", created=1)
    mid = _accepted(limit_buy("mid", created=2, bot_id="bot-2"))
    new = limit_buy("new", created=3)
    for order in (old, mid, new):
        database.orders.add(order)
    assert [o.client_order_id for o in database.orders.list()] == ["new", "mid", "old"]
    assert [o.client_order_id for o in database.orders.list(bot_id="bot-1")] == ["new", "old"]
    accepted = database.orders.list(statuses=[OrderStatus.ACCEPTED])
    assert accepted == [mid]
    assert database.orders.list(statuses=[]) == []
    assert [o.client_order_id for o in database.orders.list(limit=1)] == ["new"]


def test_list_fills_oldest_first_by_bot(database: Database) -> None:
    a = _accepted(limit_buy("a", quantity="5"))
    b = _accepted(limit_buy("b", quantity="5", bot_id="bot-2"))
    for order in (a, b):
        database.orders.add(order)
    for order, trade_id, ts in ((a, "a2", 5), (b, "b1", 3), (a, "a1", 1)):
        current = database.orders.get(order.client_order_id)
        assert current is not None
        filled = current.fill(fill_for(order, trade_id, "1", ts=ts))
        database.orders.record_fill(filled, filled.fills[-1])
    assert [f.trade_id for f in database.orders.list_fills()] == ["a1", "b1", "a2"]
    assert [f.trade_id for f in database.orders.list_fills(bot_id="bot-1")] == ["a1", "a2"]
    assert [f.trade_id for f in database.orders.list_fills(limit=1)] == ["a1"]
    assert database.orders.list_fills()[0].client_order_id == "a"


def test_concurrent_replays_of_one_fill_store_it_once(database: Database) -> None:
    """Writers racing on the same trade: one stores it, the others change nothing."""
    order = _accepted(limit_buy(quantity="3"))
    database.orders.add(order)
    filled = order.fill(fill_for(order, "t-1", "1"))
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def replay() -> None:
        start.wait()
        try:
            database.orders.record_fill(filled, filled.fills[-1])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=replay) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert database.orders.get(order.client_order_id) == filled
    assert len(database.orders.list_fills()) == 1
