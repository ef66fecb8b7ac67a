"""Paper venue v1: fills against the next bar, by the rules in its docstring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order, OrderSide, OrderType
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderCanceledReport,
    OrderRejectedReport,
    VenueReport,
)
from task_station.venues.paper import PaperVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
INST = Instrument.from_symbol(
    "BTC/USDT", size_increment=Decimal("0.0001"), min_size=Decimal("0.001")
)


class Recorder:
    def __init__(self) -> None:
        self.reports: list[VenueReport] = []

    def on_venue_report(self, report: VenueReport) -> None:
        self.reports.append(report)

    def fills(self) -> list[FillReport]:
        return [r for r in self.reports if isinstance(r, FillReport)]


def bar(o: str, h: str, lo: str, c: str, n: int = 0) -> Candle:
    return Candle(
        T0 + timedelta(hours=n), Decimal(o), Decimal(h), Decimal(lo), Decimal(c), Decimal(1)
    )


def order(
    cid: str, side: OrderSide, qty: str | None, price: str | None = None, quote: str | None = None
) -> Order:
    return Order(
        client_order_id=cid,
        venue="paper",
        symbol="BTC/USDT",
        side=side,
        type=OrderType.LIMIT if price else OrderType.MARKET,
        created_at=T0,
        quantity=Decimal(qty) if qty else None,
        quote_quantity=Decimal(quote) if quote else None,
        price=Decimal(price) if price else None,
    )


@pytest.fixture
def venue() -> tuple[PaperVenue, Recorder]:
    v = PaperVenue(
        INST,
        {"USDT": Decimal("10000"), "BTC": Decimal("1")},
        ManualClock(T0),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.002"),
    )
    rec = Recorder()
    v.set_listener(rec)
    return v, rec


async def test_market_order_fills_at_next_open_with_taker_fee(
    venue: tuple[PaperVenue, Recorder],
) -> None:
    v, rec = venue
    await v.submit_order(order("m1", OrderSide.BUY, "0.5"))
    assert isinstance(rec.reports[0], OrderAcceptedReport)
    assert rec.fills() == []  # nothing fills before the next bar
    v.process_bar(bar("100", "110", "90", "105"))
    (f,) = rec.fills()
    assert f.fill.price == Decimal("100")
    assert f.fill.fee == Decimal("0.5") * 100 * Decimal("0.002")
    assert f.fill.liquidity == "taker"
    balances = await v.fetch_balances()
    assert balances["USDT"] == Decimal("10000") - Decimal("50") - Decimal("0.1")
    assert balances["BTC"] == Decimal("1.5")


async def test_limit_buy_fills_only_when_bar_trades_through(
    venue: tuple[PaperVenue, Recorder],
) -> None:
    v, rec = venue
    await v.submit_order(order("l1", OrderSide.BUY, "1", price="95"))
    v.process_bar(bar("100", "110", "95", "105", 1))  # touches 95, does not trade through
    assert rec.fills() == []
    v.process_bar(bar("100", "101", "94", "99", 2))
    (f,) = rec.fills()
    assert (f.fill.price, f.fill.liquidity) == (Decimal("95"), "maker")


async def test_limit_sell_gapped_through_fills_at_the_better_open(
    venue: tuple[PaperVenue, Recorder],
) -> None:
    v, rec = venue
    await v.submit_order(order("l2", OrderSide.SELL, "1", price="105"))
    v.process_bar(bar("108", "112", "107", "110", 1))
    (f,) = rec.fills()
    assert f.fill.price == Decimal("108")


async def test_quote_sized_buy_spends_at_most_the_quote_including_fee(
    venue: tuple[PaperVenue, Recorder],
) -> None:
    v, rec = venue
    await v.submit_order(order("q1", OrderSide.BUY, None, quote="1000"))
    v.process_bar(bar("333", "340", "330", "335", 1))
    (f,) = rec.fills()
    spent = f.fill.notional + f.fill.fee
    assert spent <= Decimal("1000")
    assert f.fill.quantity == Decimal("2.9970")  # 1000 / (333 * 1.002) = 2.99703.. -> lot 0.0001
    assert f.order_complete


async def test_sell_more_than_held_is_rejected_and_changes_nothing(
    venue: tuple[PaperVenue, Recorder],
) -> None:
    v, rec = venue
    before = await v.fetch_balances()
    await v.submit_order(order("s1", OrderSide.SELL, "2"))
    (report,) = rec.reports
    assert isinstance(report, OrderRejectedReport)
    assert "only 1 is held" in report.reason
    v.process_bar(bar("100", "110", "90", "105", 1))
    assert await v.fetch_balances() == before


async def test_below_minimum_is_rejected(venue: tuple[PaperVenue, Recorder]) -> None:
    v, rec = venue
    await v.submit_order(order("s2", OrderSide.BUY, "0.0001"))
    assert isinstance(rec.reports[0], OrderRejectedReport)
    assert "below the venue minimum" in rec.reports[0].reason


async def test_cancel_removes_a_resting_order(venue: tuple[PaperVenue, Recorder]) -> None:
    v, rec = venue
    o = order("c1", OrderSide.BUY, "1", price="50")
    await v.submit_order(o)
    await v.cancel_order(o)
    assert isinstance(rec.reports[-1], OrderCanceledReport)
    v.process_bar(bar("49", "50", "40", "45", 1))
    assert rec.fills() == []
