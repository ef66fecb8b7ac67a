"""Reconciliation after a crash: the venue kept trading while the station was down.

Real parts: a SQLite file database, the paper venue (which remembers every order and
fill, like an exchange), the real order manager and portfolio.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.events import Event, ReconciliationCompleted
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.engine.bus import EventBus
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.persistence import Database, sqlite_url
from task_station.venues.base import VenueReport
from task_station.venues.paper import PaperVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INST = Instrument.from_symbol("BTC/USDT")
START = {"USDT": Decimal("10000")}


class Deaf:
    """What listens while the station is down: nothing."""

    def on_venue_report(self, report: VenueReport) -> None:
        pass


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(sqlite_url(tmp_path / "station.db"))
    db.upgrade()
    yield db
    db.dispose()


def bar(n: int, price: str) -> Candle:
    p = Decimal(price)
    return Candle(T0 + timedelta(hours=n), p, p + 5, p - 5, p, Decimal(100))


def manager(db: Database, venue: PaperVenue, clock: ManualClock, bus: EventBus) -> OrderManager:
    snap = db.portfolio.load("bot")
    book = Portfolio.from_snapshot(snap, "USDT") if snap else Portfolio("bot", "USDT", dict(START))
    return OrderManager(
        venue=venue, store=db.orders, portfolio=book, bus=bus, clock=clock, portfolio_store=db.portfolio
    )  # fmt: skip


async def test_restart_records_missed_fills_and_marks_unknown_orders(database: Database) -> None:
    clock = ManualClock(T0)
    venue = PaperVenue(
        INST, dict(START), clock, taker_fee=Decimal("0.001"), maker_fee=Decimal("0.001")
    )
    first = manager(database, venue, clock, EventBus())
    buy = await first.submit(SubmitOrder("BTC/USDT", OrderSide.BUY, quantity=Decimal("1")))
    rest = await first.submit(
        SubmitOrder(
            "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, quantity=Decimal("1"), price=Decimal("50")
        )
    )
    first.publish_portfolio()
    # an intent stored and marked submitted, then the process died before sending it
    lost = Order(
        "lost-1",
        "paper",
        "BTC/USDT",
        OrderSide.BUY,
        OrderType.MARKET,
        T0,
        quantity=Decimal("2"),
        bot_id="bot",
    )
    database.orders.add(lost)
    database.orders.update(lost.submit(T0))
    # an intent stored but never marked submitted
    database.orders.add(
        Order(
            "never-1",
            "paper",
            "BTC/USDT",
            OrderSide.BUY,
            OrderType.MARKET,
            T0,
            quantity=Decimal("1"),
            bot_id="bot",
        )
    )

    venue.set_listener(Deaf())  # --- the station is down; the venue keeps matching ---
    clock.set(T0 + timedelta(hours=1))
    venue.process_bar(bar(1, "100"))  # fills the market buy at 100 unseen
    assert database.orders.get(buy.client_order_id).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]

    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(ReconciliationCompleted, events.append)
    second = manager(database, venue, clock, bus)  # --- restart ---
    result = await second.reconcile(database.audit)

    filled = database.orders.get(buy.client_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.filled_quantity == Decimal("1") and filled.fees == Decimal("0.1")
    assert database.orders.get(rest.client_order_id).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    assert database.orders.get("lost-1").status is OrderStatus.REJECTED  # type: ignore[union-attr]
    assert "no record" in (database.orders.get("lost-1").reason or "")  # type: ignore[union-attr]
    assert database.orders.get("never-1").status is OrderStatus.DENIED  # type: ignore[union-attr]
    assert result.fills_recorded == (f"{buy.client_order_id}-1",)
    assert set(result.unknown_to_venue) == {"lost-1", "never-1"}
    assert result.checked == 4 and events == [result]
    # the book equals the venue's balances, to the last digit
    assert second.open_orders[0].client_order_id == rest.client_order_id
    venue_balances = await venue.fetch_balances()
    stored = database.portfolio.load("bot")
    assert stored is not None
    assert {b.asset: b.total for b in stored.balances} == {
        k: v for k, v in venue_balances.items() if v
    }
    assert any(e.action == "orders.reconcile" for e in database.audit.list_recent(10))

    again = await second.reconcile(database.audit)  # idempotent
    assert not again.changed and again.checked == 1


async def test_fills_after_reconciliation_flow_normally(database: Database) -> None:
    clock = ManualClock(T0)
    venue = PaperVenue(INST, dict(START), clock)
    first = manager(database, venue, clock, EventBus())
    order = await first.submit(
        SubmitOrder(
            "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, quantity=Decimal("1"), price=Decimal("90")
        )
    )
    first.publish_portfolio()
    second = manager(database, venue, clock, EventBus())
    await second.reconcile()
    venue.process_bar(bar(1, "80"))  # now the restarted manager hears the fill itself
    stored = database.orders.get(order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert second.open_orders == []


async def test_periodic_reconciliation_catches_fills_nobody_reported(database: Database) -> None:
    import asyncio
    import contextlib

    clock = ManualClock(T0)
    venue = PaperVenue(INST, dict(START), clock)
    om = manager(database, venue, clock, EventBus())
    order = await om.submit(SubmitOrder("BTC/USDT", OrderSide.BUY, quantity=Decimal("1")))
    venue.set_listener(Deaf())  # the fill report is lost (a dropped stream)
    venue.process_bar(bar(1, "100"))
    task = asyncio.create_task(om.reconcile_every(0.01))
    try:
        for _ in range(200):
            stored = database.orders.get(order.client_order_id)
            if stored is not None and stored.status is OrderStatus.FILLED:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert stored is not None and stored.status is OrderStatus.FILLED
