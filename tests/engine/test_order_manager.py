"""The order manager over the real paper venue: write-ahead, events, exact portfolio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.events import (
    Event,
    OrderDenied,
    OrderFilled,
    OrderUpdated,
    PortfolioChanged,
)
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.engine.bus import EventBus
from task_station.engine.memory import MemoryOrderStore, MemoryPortfolioStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.venues.paper import PaperVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INST = Instrument.from_symbol("ETH/USDT")


class RecordingStore(MemoryOrderStore):
    """The real in-memory store, recording the status of every write (write-ahead proof)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, OrderStatus]] = []

    def add(self, order: Order) -> None:
        self.writes.append(("add", order.status))
        super().add(order)

    def update(self, order: Order) -> None:
        self.writes.append(("update", order.status))
        super().update(order)


@pytest.fixture
def setup() -> tuple[OrderManager, PaperVenue, RecordingStore, Portfolio, list[Event]]:
    clock = ManualClock(T0)
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(Event, events.append)
    venue = PaperVenue(INST, {"USDT": Decimal("1000")}, clock, taker_fee=Decimal("0.001"))
    store = RecordingStore()
    portfolio = Portfolio("b1", "USDT", {"USDT": Decimal("1000")})
    manager = OrderManager(
        venue=venue, store=store, portfolio=portfolio, bus=bus, clock=clock,
        portfolio_store=MemoryPortfolioStore(),
    )  # fmt: skip
    return manager, venue, store, portfolio, events


async def test_order_is_stored_before_it_is_sent(setup) -> None:  # type: ignore[no-untyped-def]
    manager, venue, store, _, _ = setup
    order = await manager.submit(
        SubmitOrder("ETH/USDT", OrderSide.BUY, OrderType.MARKET, quantity=Decimal("1"))
    )
    assert store.writes[:2] == [("add", OrderStatus.INITIALIZED), ("update", OrderStatus.SUBMITTED)]
    assert order.status is OrderStatus.ACCEPTED
    assert venue.open_orders[0].client_order_id == order.client_order_id


async def test_fill_updates_portfolio_exactly_and_publishes_events(setup) -> None:  # type: ignore[no-untyped-def]
    manager, venue, store, portfolio, events = setup
    order = await manager.submit(SubmitOrder("ETH/USDT", OrderSide.BUY, quantity=Decimal("2")))
    venue.process_bar(
        Candle(
            T0 + timedelta(hours=1),
            Decimal("100"),
            Decimal("101"),
            Decimal("99"),
            Decimal("100"),
            Decimal(5),
        )
    )
    stored = store.get(order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert portfolio.balance("USDT").total == Decimal("1000") - Decimal("200") - Decimal("0.2")
    assert portfolio.balance("ETH").total == Decimal("2")
    kinds = [type(e) for e in events]
    assert kinds.count(OrderFilled) == 1 and PortfolioChanged in kinds
    assert kinds.index(OrderFilled) < kinds.index(PortfolioChanged)
    value = portfolio.valuation()
    assert value.equity == value.cash + 2 * Decimal("100")


async def test_order_exceeding_balance_is_denied_and_never_sent(setup) -> None:  # type: ignore[no-untyped-def]
    manager, venue, store, _, events = setup
    order = await manager.submit(
        SubmitOrder("ETH/USDT", OrderSide.BUY, quote_quantity=Decimal("5000"))
    )
    assert order.status is OrderStatus.DENIED
    assert "only 1000 free" in (order.reason or "")
    assert venue.open_orders == []
    assert any(isinstance(e, OrderDenied) for e in events)
    assert store.get(order.client_order_id) == order


async def test_negative_quantity_is_refused_before_anything_is_stored(setup) -> None:  # type: ignore[no-untyped-def]
    from task_station.domain.errors import ValidationError

    manager, _, store, _, events = setup
    with pytest.raises(ValidationError, match="must be positive"):
        await manager.submit(SubmitOrder("ETH/USDT", OrderSide.SELL, quantity=Decimal("-1")))
    assert store.list() == [] and not [e for e in events if isinstance(e, OrderUpdated)]


def test_failing_bus_handler_does_not_stop_other_handlers() -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(_: Event) -> None:
        raise RuntimeError("chart bug")

    bus.subscribe(Event, broken)
    unsubscribe = bus.subscribe(Event, seen.append)
    bus.publish(Event(T0))
    assert len(seen) == 1
    unsubscribe()
    bus.publish(Event(T0))
    assert len(seen) == 1


async def test_duplicate_acknowledgements_and_fills_change_nothing(setup) -> None:  # type: ignore[no-untyped-def]
    from task_station.venues.base import FillReport, OrderAcceptedReport, VenueReport

    manager, venue, store, portfolio, events = setup
    seen: list[VenueReport] = []

    class Twice:
        """Relays every venue report to the manager twice, as a flaky venue would."""

        def on_venue_report(self, report: VenueReport) -> None:
            seen.append(report)
            manager.on_venue_report(report)
            manager.on_venue_report(report)

    venue.set_listener(Twice())
    order = await manager.submit(SubmitOrder("ETH/USDT", OrderSide.BUY, quantity=Decimal("1")))
    venue.process_bar(
        Candle(
            T0 + timedelta(hours=1),
            Decimal("100"),
            Decimal("101"),
            Decimal("99"),
            Decimal("100"),
            Decimal(5),
        )
    )
    assert [type(r) for r in seen] == [OrderAcceptedReport, FillReport]
    stored = store.get(order.client_order_id)
    assert stored is not None and stored.status is OrderStatus.FILLED and len(stored.fills) == 1
    assert portfolio.balance("ETH").total == Decimal("1")
    assert [type(e) for e in events].count(OrderFilled) == 1
