"""Depth matching: walking levels, VWAP, partial fills, FOK and post-only against a book."""

from __future__ import annotations

from task_station.domain.orders import OrderStatus, TimeInForce
from task_station.venues.matching.paper_venue import MatchingPaperVenue

from .helpers import D, bar, make_order, make_venue

BIDS = [(D("99"), D("1")), (D("98"), D("2"))]
ASKS = [(D("101"), D("1")), (D("102"), D("1")), (D("103"), D("5"))]


def with_book() -> tuple[MatchingPaperVenue, object]:
    venue, rec, _ = make_venue()
    venue.set_book(BIDS, ASKS)
    return venue, rec


async def test_market_buy_walks_levels_at_vwap() -> None:
    venue, _ = with_book()
    await venue.submit_order(make_order("m", "buy", "2.5"))
    order = venue.orders["m"]
    assert [(f.price, f.quantity) for f in order.fills] == [
        (D("101.00"), D("1.000")),
        (D("102.00"), D("1.000")),
        (D("103.00"), D("0.500")),
    ]
    assert order.status is OrderStatus.FILLED
    assert order.average_price == D("101.8")


async def test_limit_buy_takes_to_its_price_then_rests() -> None:
    venue, _ = with_book()
    await venue.submit_order(make_order("l", "buy", "3", price="102"))
    order = venue.orders["l"]
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_quantity == 2
    venue.process_bar(bar("102", "102", "101", "101.5"))
    assert venue.orders["l"].fills[-1].liquidity == "maker"
    assert venue.orders["l"].status is OrderStatus.FILLED


async def test_market_sell_beyond_depth_is_a_partial_fill() -> None:
    venue, _ = with_book()
    await venue.submit_order(make_order("m", "sell", "4"))
    order = venue.orders["m"]
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_quantity == 3


async def test_fok_beyond_depth_is_killed_untouched() -> None:
    venue, _ = with_book()
    await venue.submit_order(make_order("f", "buy", "3", price="102", tif=TimeInForce.FOK))
    assert venue.orders["f"].status is OrderStatus.CANCELED
    assert venue.orders["f"].fills == ()


async def test_fok_reduce_only_clipped_below_its_quantity_is_killed_untouched() -> None:
    """Found by the property test: reduce-only clipped a FOK sell to the position and
    filled that part; all-or-nothing means nothing."""
    venue, _, _ = make_venue({"USDT": "100000", "BTC": "0.5"})
    venue.set_book(BIDS, ASKS)
    await venue.submit_order(
        make_order("r", "sell", "0.9", price="98", tif=TimeInForce.FOK, reduce_only=True)
    )
    assert venue.orders["r"].status is OrderStatus.CANCELED
    assert venue.orders["r"].fills == ()
    assert (await venue.fetch_balances())["BTC"] == D("0.5")


async def test_ioc_takes_available_and_cancels_rest() -> None:
    venue, _ = with_book()
    await venue.submit_order(make_order("i", "buy", "3", price="101", tif=TimeInForce.IOC))
    order = venue.orders["i"]
    assert order.filled_quantity == 1 and order.status is OrderStatus.CANCELED


async def test_post_only_at_best_ask_is_rejected() -> None:
    venue, _ = with_book()
    await venue.submit_order(make_order("p", "buy", "1", price="101", post_only=True))
    assert venue.orders["p"].status is OrderStatus.REJECTED
    assert "would take liquidity" in (venue.orders["p"].reason or "")


async def test_quote_sized_buy_spends_at_most_its_quote() -> None:
    venue, _ = with_book()
    await venue.submit_order(make_order("q", "buy", None, quote="250"))
    order = venue.orders["q"]
    assert order.status is OrderStatus.FILLED
    assert order.filled_notional <= 250
    assert [f.quantity for f in order.fills] == [D("1.000"), D("1.000"), D("0.456")]
