"""Invariants of the matching engine under random order flow (hypothesis).

Conservation: what the account owns changes exactly by fills and fees. No order fills
beyond its size; FOK is all or nothing; post-only never takes; reduce-only never flips
(on spot: the base holding never goes below zero); no balance column goes negative.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from task_station.domain.money import ZERO
from task_station.domain.orders import Order, OrderStatus, OrderType, TimeInForce
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.paper_venue import MatchingPaperVenue

from .helpers import D, bar, make_order, make_venue

prices = st.integers(90, 110).map(lambda p: str(p))
sizes = st.integers(1, 3000).map(lambda n: str(Decimal(n) / 1000))


@st.composite
def orders(draw: st.DrawFn, n: int) -> Order:
    kind = draw(st.sampled_from(list(OrderType)))
    side = draw(st.sampled_from(["buy", "sell"]))
    price = draw(prices) if kind.has_limit_price else None
    trigger = draw(prices) if kind.is_stop else None
    post_only = kind is OrderType.LIMIT and draw(st.booleans())
    tif = TimeInForce.GTC if post_only else draw(st.sampled_from(list(TimeInForce)))
    reduce_only = side == "sell" and draw(st.booleans())
    quote = kind is OrderType.MARKET and side == "buy" and draw(st.booleans())
    return make_order(
        f"o{n}",
        side,
        None if quote else draw(sizes),
        kind=kind,
        price=price,
        trigger=trigger,
        quote=str(draw(st.integers(1, 500))) if quote else None,
        tif=tif,
        post_only=post_only,
        reduce_only=reduce_only,
    )


@st.composite
def bars(draw: st.DrawFn, n: int) -> object:
    o, c = draw(prices), draw(prices)
    hi = max(int(o), int(c)) + draw(st.integers(0, 5))
    lo = min(int(o), int(c)) - draw(st.integers(0, 5))
    return bar(o, str(hi), str(lo), c, n=n, volume=str(draw(st.integers(0, 10))))


@st.composite
def books(draw: st.DrawFn) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    mid = draw(st.integers(95, 105))
    depth = st.lists(st.integers(1, 2000).map(lambda n: D(n) / 1000), min_size=0, max_size=4)
    bids = [(D(mid - 1 - i), q) for i, q in enumerate(draw(depth))]
    asks = [(D(mid + 1 + i), q) for i, q in enumerate(draw(depth))]
    return bids, asks


steps = st.lists(st.sampled_from(["order", "order", "bar", "book", "cancel"]), max_size=40)


def check_invariants(venue: MatchingPaperVenue, start: dict[str, Decimal]) -> None:
    expected = dict(start)
    for order in venue.orders.values():
        assert order.quantity is None or order.filled_quantity <= order.quantity
        if order.time_in_force is TimeInForce.FOK:
            assert not order.fills or order.status is OrderStatus.FILLED
        for f in order.fills:
            assert not order.post_only or f.liquidity == "maker"
            sign = 1 if f.side.value == "buy" else -1
            expected["BTC"] += sign * f.quantity
            expected["USDT"] -= sign * f.notional + f.fee
    totals = venue.engine.ledger.totals()
    assert {k: v for k, v in totals.items() if k in expected} == expected
    for column in (venue.engine.ledger.free, venue.engine.ledger.locked):
        assert all(v >= ZERO for v in column.values()), column


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), plan=steps, cap=st.sampled_from([None, D("0.2")]))
async def test_random_flow_conserves_assets_and_respects_order_rules(
    data: st.DataObject, plan: list[str], cap: Decimal | None
) -> None:
    config = MatchingConfig(maker_fee=D("0.001"), taker_fee=D("0.002"), volume_participation=cap)
    venue, _, _ = make_venue({"USDT": "1000", "BTC": "5"}, config)
    start = venue.engine.ledger.totals()
    for n, step in enumerate(plan):
        if step == "order":
            await venue.submit_order(data.draw(orders(n)))
        elif step == "bar":
            venue.process_bar(data.draw(bars(n)))  # type: ignore[arg-type]
        elif step == "book":
            venue.set_book(*data.draw(books()))
        elif venue.engine.working:
            cid = data.draw(st.sampled_from(sorted(venue.engine.working)))
            await venue.cancel_order(venue.orders[cid])
        check_invariants(venue, start)
