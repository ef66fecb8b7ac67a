"""Builders shared by the matching tests: orders, bars and a report recorder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderSide, OrderType, TimeInForce
from task_station.venues.base import FillReport, VenueReport
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.paper_venue import MatchingPaperVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INST = Instrument.from_symbol(
    "BTC/USDT",
    price_increment=Decimal("0.01"),
    size_increment=Decimal("0.001"),
    min_size=Decimal("0.001"),
)
D = Decimal


class Recorder:
    def __init__(self) -> None:
        self.reports: list[VenueReport] = []

    def on_venue_report(self, report: VenueReport) -> None:
        self.reports.append(report)

    def fills(self) -> list[FillReport]:
        return [r for r in self.reports if isinstance(r, FillReport)]


def bar(o: str, h: str, lo: str, c: str, n: int = 1, volume: str = "100") -> Candle:
    return Candle(T0 + timedelta(hours=n), D(o), D(h), D(lo), D(c), D(volume))


def make_order(
    cid: str,
    side: str,
    qty: str | None,
    *,
    kind: OrderType | None = None,
    price: str | None = None,
    trigger: str | None = None,
    quote: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    post_only: bool = False,
    reduce_only: bool = False,
) -> Order:
    if kind is None:
        kind = OrderType.LIMIT if price else OrderType.MARKET
    return Order(
        client_order_id=cid,
        venue="paper",
        symbol="BTC/USDT",
        side=OrderSide(side),
        type=kind,
        created_at=T0,
        quantity=D(qty) if qty else None,
        quote_quantity=D(quote) if quote else None,
        price=D(price) if price else None,
        trigger_price=D(trigger) if trigger else None,
        time_in_force=tif,
        post_only=post_only,
        reduce_only=reduce_only,
    )


def make_venue(
    balances: dict[str, str] | None = None, config: MatchingConfig | None = None
) -> tuple[MatchingPaperVenue, Recorder, ManualClock]:
    clock = ManualClock(T0)
    venue = MatchingPaperVenue(
        INST,
        {k: D(v) for k, v in (balances or {"USDT": "100000", "BTC": "10"}).items()},
        clock,
        config=config,
    )
    rec = Recorder()
    venue.set_listener(rec)
    return venue, rec, clock
