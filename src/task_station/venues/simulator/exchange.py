"""The simulator's account and order registry on top of the paper venue.

Binance identifies orders by an integer ``orderId`` and trades by an integer ``id``;
this keeps those numbers next to the domain orders and fills the venue reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.clock import ManualClock
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Fill, Order
from task_station.venues.base import FillReport, OrderAcceptedReport, VenueReport
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.paper_venue import MatchingPaperVenue
from task_station.venues.simulator.market import MarketData, SimMarket


@dataclass(frozen=True, slots=True)
class MyTrade:
    trade_id: int
    order_id: int
    fill: Fill


class SimExchange:
    """One account on one symbol, driven by a ``SimMarket``."""

    def __init__(
        self,
        data: MarketData,
        balances: dict[str, Decimal],
        *,
        config: MatchingConfig | None = None,
        warmup: int = 50,
        history: int = 0,
    ) -> None:
        self.clock = ManualClock(data.bars[0].ts)
        self.venue = MatchingPaperVenue(
            data.instrument, balances, self.clock, config=config, name="simulator"
        )
        self.venue.set_listener(self)
        self.market = SimMarket(data, self.venue, self.clock)
        self.order_ids: dict[str, int] = {}
        self.cids: dict[int, str] = {}
        self.trades: list[MyTrade] = []
        self.market.seed_history(min(history, len(data.bars) - 1))
        for _ in range(min(warmup, len(data.bars) - 1 - len(self.market.played))):
            self.market.step()

    @property
    def instrument(self) -> Instrument:
        return self.market.instrument

    def on_venue_report(self, report: VenueReport) -> None:
        if isinstance(report, OrderAcceptedReport):
            oid = int(report.venue_order_id)
            self.order_ids[report.client_order_id] = oid
            self.cids[oid] = report.client_order_id
        elif isinstance(report, FillReport):
            cid = report.fill.client_order_id
            self.trades.append(MyTrade(len(self.trades) + 1, self.order_ids[cid], report.fill))

    def place(self, order: Order) -> Order:
        """Submit ``order`` now; the venue's copy comes back (rejected or accepted)."""
        return self.venue.submit_now(order)

    def find(self, order_id: int | None, cid: str | None) -> Order | None:
        """An order by Binance ``orderId`` or client order id."""
        if cid is None and order_id is not None:
            cid = self.cids.get(order_id)
        return self.venue.orders.get(cid) if cid is not None else None

    def order_id(self, order: Order) -> int:
        return self.order_ids.get(order.client_order_id, -1)
