"""Candle matching: v1's limit and market rules, stops, time in force, caps and latency."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from task_station.domain.orders import OrderStatus, OrderType, TimeInForce
from task_station.venues.base import OrderRejectedReport, OrderTriggeredReport
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.slippage import FixedBps, SquareRootImpact

from .helpers import D, bar, make_order, make_venue


async def test_market_buy_fills_at_next_open_as_taker() -> None:
    venue, rec, _ = make_venue(config=MatchingConfig(taker_fee=D("0.001")))
    await venue.submit_order(make_order("m", "buy", "1"))
    venue.process_bar(bar("100", "110", "90", "105"))
    (fill,) = rec.fills()
    assert (fill.fill.price, fill.fill.liquidity, fill.fill.fee) == (D(100), "taker", D("0.1"))
    assert await venue.fetch_balances() == {"BTC": D(11), "USDT": D("99899.9")}


async def test_buy_limit_traded_through_fills_at_limit_as_maker() -> None:
    venue, rec, _ = make_venue()
    await venue.submit_order(make_order("l", "buy", "1", price="95"))
    venue.process_bar(bar("100", "101", "96", "100", n=1))
    assert rec.fills() == []
    venue.process_bar(bar("100", "101", "94", "99", n=2))
    assert [(f.fill.price, f.fill.liquidity) for f in rec.fills()] == [(D(95), "maker")]


async def test_sell_limit_gapped_through_fills_at_open_as_taker() -> None:
    venue, rec, _ = make_venue()
    await venue.submit_order(make_order("l", "sell", "1", price="105"))
    venue.process_bar(bar("108", "110", "107", "109"))
    assert [(f.fill.price, f.fill.liquidity) for f in rec.fills()] == [(D(108), "taker")]


async def test_sell_stop_gapped_through_fills_at_open_not_trigger() -> None:
    venue, rec, _ = make_venue()
    order = make_order("s", "sell", "1", kind=OrderType.STOP_MARKET, trigger="95")
    await venue.submit_order(order)
    venue.process_bar(bar("90", "92", "85", "91"))
    assert any(isinstance(r, OrderTriggeredReport) for r in rec.reports)
    assert [f.fill.price for f in rec.fills()] == [D(90)]
    assert venue.orders["s"].status is OrderStatus.FILLED


async def test_buy_stop_touched_intrabar_fills_at_trigger() -> None:
    venue, rec, _ = make_venue()
    await venue.submit_order(make_order("s", "buy", "1", kind=OrderType.STOP_MARKET, trigger="105"))
    venue.process_bar(bar("100", "106", "99", "104"))
    assert [f.fill.price for f in rec.fills()] == [D(105)]


async def test_stop_limit_gapped_past_limit_rests_then_fills_at_limit() -> None:
    venue, rec, _ = make_venue()
    order = make_order("sl", "buy", "1", kind=OrderType.STOP_LIMIT, trigger="105", price="106")
    await venue.submit_order(order)
    venue.process_bar(bar("110", "112", "108", "111", n=1))
    assert rec.fills() == [] and venue.orders["sl"].status is OrderStatus.TRIGGERED
    venue.process_bar(bar("109", "109", "105", "106", n=2))
    assert [(f.fill.price, f.fill.liquidity) for f in rec.fills()] == [(D(106), "maker")]


async def test_ioc_limit_not_traded_is_canceled_after_first_bar() -> None:
    venue, rec, _ = make_venue()
    await venue.submit_order(make_order("i", "buy", "1", price="90", tif=TimeInForce.IOC))
    venue.process_bar(bar("100", "101", "95", "100"))
    assert venue.orders["i"].status is OrderStatus.CANCELED and rec.fills() == []


async def test_volume_cap_partially_fills_and_keeps_working() -> None:
    venue, rec, _ = make_venue(config=MatchingConfig(volume_participation=D("0.1")))
    await venue.submit_order(make_order("m", "buy", "3"))
    venue.process_bar(bar("100", "101", "99", "100", n=1, volume="20"))
    assert venue.orders["m"].status is OrderStatus.PARTIALLY_FILLED
    assert venue.orders["m"].filled_quantity == D(2)
    venue.process_bar(bar("102", "103", "101", "102", n=2, volume="20"))
    assert [(f.fill.price, f.fill.quantity) for f in rec.fills()] == [
        (D(100), D(2)),
        (D(102), D(1)),
    ]
    assert venue.orders["m"].status.value == "filled"


async def test_fok_larger_than_volume_cap_is_killed_without_fill() -> None:
    venue, rec, _ = make_venue(config=MatchingConfig(volume_participation=D("0.1")))
    await venue.submit_order(make_order("f", "buy", "3", price="101", tif=TimeInForce.FOK))
    venue.process_bar(bar("100", "101", "99", "100", volume="20"))
    assert rec.fills() == [] and venue.orders["f"].status is OrderStatus.CANCELED
    assert await venue.fetch_balances() == {"BTC": D(10), "USDT": D(100000)}


async def test_latency_skips_bars_before_order_arrives() -> None:
    venue, rec, clock = make_venue(config=MatchingConfig(latency=timedelta(minutes=90)))
    clock.set(bar("1", "1", "1", "1", n=0).ts)
    await venue.submit_order(make_order("m", "buy", "1"))
    venue.process_bar(bar("100", "101", "99", "100", n=1))
    assert rec.fills() == []
    venue.process_bar(bar("103", "104", "99", "100", n=2))
    assert [f.fill.price for f in rec.fills()] == [D(103)]


async def test_fixed_bps_slippage_worsens_taker_price_on_the_tick() -> None:
    venue, rec, _ = make_venue(config=MatchingConfig(slippage=FixedBps(D(15))))
    await venue.submit_order(make_order("m", "sell", "1"))
    venue.process_bar(bar("100.01", "101", "99", "100"))
    assert [f.fill.price for f in rec.fills()] == [D("99.85")]


async def test_square_root_impact_grows_with_participation() -> None:
    model = SquareRootImpact(coefficient=D("0.1"), max_bps=D(1000))
    venue, rec, _ = make_venue(config=MatchingConfig(slippage=model))
    await venue.submit_order(make_order("m", "buy", "1"))
    venue.process_bar(bar("100", "101", "99", "100", volume="100"))
    assert [f.fill.price for f in rec.fills()] == [D(101)]  # 0.1 * sqrt(1/100) = 1%


async def test_insufficient_quote_rejects_with_free_and_locked_amounts() -> None:
    venue, rec, _ = make_venue({"USDT": "1000"})
    await venue.submit_order(make_order("a", "buy", "5", price="150"))
    await venue.submit_order(make_order("b", "buy", "5", price="100"))
    rejected = [r for r in rec.reports if isinstance(r, OrderRejectedReport)]
    assert [r.client_order_id for r in rejected] == ["b"]
    assert (
        "needs up to 500 USDT but only 250 USDT is free (750 locked in open orders)"
        in rejected[0].reason
    )


async def test_cancel_releases_locked_funds() -> None:
    venue, _, _ = make_venue({"USDT": "1000"})
    await venue.submit_order(make_order("a", "buy", "5", price="150"))
    assert venue.balance_detail()["USDT"] == (D(250), D(750))
    await venue.cancel_order(venue.orders["a"])
    assert venue.balance_detail()["USDT"] == (D(1000), D(0))
    assert venue.orders["a"].status is OrderStatus.CANCELED


async def test_misaligned_price_is_rejected_with_the_tick() -> None:
    venue, rec, _ = make_venue()
    await venue.submit_order(make_order("a", "buy", "1", price="100.005"))
    (report,) = rec.reports
    assert isinstance(report, OrderRejectedReport) and "step 0.01" in report.reason


async def test_post_only_crossing_last_close_is_rejected() -> None:
    venue, _, _ = make_venue()
    venue.process_bar(bar("100", "101", "99", "100"))
    await venue.submit_order(make_order("p", "buy", "1", price="100", post_only=True))
    assert venue.orders["p"].status is OrderStatus.REJECTED


async def test_post_only_gapped_through_fills_at_limit_as_maker() -> None:
    venue, rec, _ = make_venue()
    venue.process_bar(bar("100", "101", "99", "100", n=1))
    await venue.submit_order(make_order("p", "buy", "1", price="98", post_only=True))
    venue.process_bar(bar("95", "96", "94", "95", n=2))
    assert [(f.fill.price, f.fill.liquidity) for f in rec.fills()] == [(D(98), "maker")]


async def test_reduce_only_sell_larger_than_holding_is_reduced() -> None:
    venue, rec, _ = make_venue({"USDT": "0", "BTC": "0.5"})
    await venue.submit_order(make_order("r", "sell", "2", reduce_only=True))
    venue.process_bar(bar("100", "101", "99", "100"))
    assert [f.fill.quantity for f in rec.fills()] == [Decimal("0.500")]
    assert venue.orders["r"].status is OrderStatus.CANCELED
    assert (await venue.fetch_balances())["BTC"] == 0


async def test_reduce_only_buy_on_spot_is_rejected() -> None:
    venue, _, _ = make_venue()
    await venue.submit_order(make_order("r", "buy", "1", reduce_only=True))
    assert venue.orders["r"].status is OrderStatus.REJECTED
