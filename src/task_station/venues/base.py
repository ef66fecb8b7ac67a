"""The ``Venue`` protocol: capabilities as data, outcomes as reports.

A venue never raises for a refused order: it reports ``OrderRejectedReport``. Exceptions
leaving a venue mean the venue could not be reached (``VenueError``) or a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from task_station.domain.candles import Candle
from task_station.domain.fast_init import fast_init
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Fill, Order, OrderStatus, OrderType


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue supports; code branches on this, never on a venue's name."""

    order_types: frozenset[OrderType]
    quote_sized_market_buy: bool
    candle_driven: bool  # fills happen when a bar is processed (paper) rather than live
    websocket: bool = False
    max_candles_per_request: int = 1000


@dataclass(frozen=True, slots=True)
class OrderAcceptedReport:
    client_order_id: str
    venue_order_id: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class OrderRejectedReport:
    client_order_id: str
    reason: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class OrderTriggeredReport:
    """A stop order's trigger traded: it now works as a market or limit order."""

    client_order_id: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class OrderCanceledReport:
    client_order_id: str
    ts: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class FillReport:
    fill: Fill
    order_complete: bool


VenueReport = (
    OrderAcceptedReport
    | OrderRejectedReport
    | OrderTriggeredReport
    | OrderCanceledReport
    | FillReport
)


@dataclass(frozen=True, slots=True)
class VenueOrderState:
    """What the venue says about one of our orders (for reconciliation)."""

    client_order_id: str
    venue_order_id: str
    status: OrderStatus
    filled_quantity: Decimal


@runtime_checkable
class Reconcilable(Protocol):
    """A venue that can be asked what really happened to our orders."""

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        """The venue's view of ``order`` by client order id; None if it never saw it."""

    async def fetch_fills(self, order: Order) -> list[Fill]:
        """Every execution of ``order`` the venue knows of, oldest first."""


class VenueListener(Protocol):
    def on_venue_report(self, report: VenueReport) -> None: ...


class Venue(Protocol):
    name: str
    capabilities: VenueCapabilities

    def set_listener(self, listener: VenueListener) -> None: ...

    def instrument(self, symbol: str) -> Instrument: ...

    async def submit_order(self, order: Order) -> None:
        """Send ``order``; its outcome arrives as reports to the listener."""

    async def cancel_order(self, order: Order) -> None: ...

    async def fetch_balances(self) -> dict[str, Decimal]: ...


class CandleDrivenVenue(Venue, Protocol):
    """A simulated venue that matches pending orders when told a bar closed."""

    def process_bar(self, candle: Candle) -> None: ...


for _hot in (OrderAcceptedReport, FillReport):  # one per order event (domain/fast_init.py)
    fast_init(_hot)
