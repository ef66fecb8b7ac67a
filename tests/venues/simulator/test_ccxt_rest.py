"""The real ccxt binance class against the simulator over loopback."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt_async
import pytest

from task_station.venues.simulator.server import SimulatorServer

D = Decimal


async def test_load_markets_reads_filters_as_precision_and_limits(
    binance: ccxt_async.binance,
) -> None:
    market = binance.market("BTC/USDT")
    assert market["spot"] and market["id"] == "BTCUSDT"
    assert market["precision"]["price"] == 0.01
    assert market["limits"]["cost"]["min"] == 5


async def test_public_market_data_parses(binance: ccxt_async.binance) -> None:
    ticker = await binance.fetch_ticker("BTC/USDT")
    book = await binance.fetch_order_book("BTC/USDT", limit=5)
    bars = await binance.fetch_ohlcv("BTC/USDT", "1h", limit=10)
    assert ticker["last"] and ticker["bid"] < ticker["ask"]
    assert len(book["bids"]) == 5 and book["bids"][0][0] < book["asks"][0][0]
    assert len(bars) == 10 and bars[-1][0] - bars[-2][0] == 3_600_000


@pytest.fixture(params=["async", "pro"])
def trader(request: pytest.FixtureRequest) -> ccxt_async.binance:
    """The same trading tests through ``ccxt.async_support`` and ``ccxt.pro`` classes."""
    name = "binance" if request.param == "async" else "binance_pro"
    client: ccxt_async.binance = request.getfixturevalue(name)
    return client


async def test_limit_order_rests_then_cancels_and_releases_funds(
    trader: ccxt_async.binance,
) -> None:
    bid = (await trader.fetch_order_book("BTC/USDT"))["bids"][-1][0]
    price = trader.price_to_precision("BTC/USDT", bid * 0.9)
    order = await trader.create_order("BTC/USDT", "limit", "buy", 0.01, float(price))
    assert order["status"] == "open"
    locked = D((await trader.fetch_balance())["info"]["balances"][1]["locked"])
    assert locked == D(price) * D("0.01")
    open_ids = [o["id"] for o in await trader.fetch_open_orders("BTC/USDT")]
    assert open_ids == [order["id"]]
    canceled = await trader.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    assert await trader.fetch_open_orders("BTC/USDT") == []


async def test_market_buy_fills_and_balances_move_exactly(
    trader: ccxt_async.binance,
) -> None:
    before = {b["asset"]: b for b in (await trader.fetch_balance())["info"]["balances"]}
    order = await trader.create_order("BTC/USDT", "market", "buy", 0.05)
    assert order["status"] == "closed" and order["filled"] == 0.05
    trades = await trader.fetch_my_trades("BTC/USDT")
    qty = sum(D(t["info"]["qty"]) for t in trades)
    cost = sum(D(t["info"]["quoteQty"]) for t in trades)
    fees = sum(D(t["info"]["commission"]) for t in trades)
    after = {b["asset"]: b for b in (await trader.fetch_balance())["info"]["balances"]}
    assert qty == D("0.05")
    assert D(after["BTC"]["free"]) - D(before["BTC"]["free"]) == qty
    assert D(before["USDT"]["free"]) - D(after["USDT"]["free"]) == cost + fees


async def test_limit_crossing_thin_book_partially_fills_and_rests(
    binance: ccxt_async.binance,
) -> None:
    book = await binance.fetch_order_book("BTC/USDT", limit=3)
    depth = sum(D(str(q)) for _, q in book["asks"][:3])
    limit = book["asks"][2][0]
    amount = float(depth + D(1))
    order = await binance.create_order("BTC/USDT", "limit", "buy", amount, limit)
    assert order["status"] == "open"
    assert D(order["info"]["executedQty"]) == depth
    assert order["info"]["status"] == "PARTIALLY_FILLED"


async def test_fetch_order_by_client_id_finds_it(binance: ccxt_async.binance) -> None:
    bid = (await binance.fetch_order_book("BTC/USDT"))["bids"][-1][0]
    price = float(binance.price_to_precision("BTC/USDT", bid * 0.9))
    await binance.create_order(
        "BTC/USDT", "limit", "buy", 0.01, price, {"newClientOrderId": "my-order-1"}
    )
    found = await binance.fetch_order(None, "BTC/USDT", {"origClientOrderId": "my-order-1"})
    assert found["clientOrderId"] == "my-order-1" and found["status"] == "open"


async def test_unknown_order_raises_order_not_found(binance: ccxt_async.binance) -> None:
    with pytest.raises(ccxt_async.OrderNotFound):
        await binance.fetch_order("999999", "BTC/USDT")


async def test_oversized_buy_raises_insufficient_funds(binance: ccxt_async.binance) -> None:
    with pytest.raises(ccxt_async.InsufficientFunds):
        await binance.create_order("BTC/USDT", "limit", "buy", 1000, 1000)


async def test_misaligned_quantity_raises_invalid_order(binance: ccxt_async.binance) -> None:
    binance.markets["BTC/USDT"]["precision"]["amount"] = 1e-8  # skip ccxt's own rounding
    with pytest.raises(ccxt_async.InvalidOrder):
        await binance.create_order("BTC/USDT", "limit", "buy", 0.000123456, 1000)


async def test_bad_secret_raises_authentication_error(server: SimulatorServer) -> None:
    from task_station.venues.simulator.ccxt_setup import point_ccxt_at

    ex = ccxt_async.binance({"apiKey": "test-key", "secret": "wrong", "timeout": 2000})
    point_ccxt_at(ex, server.url)
    try:
        await ex.load_markets()
        with pytest.raises(ccxt_async.AuthenticationError, match="-1022"):
            await ex.fetch_balance()
    finally:
        await ex.close()


async def test_resting_limit_fills_when_a_bar_trades_through(
    binance: ccxt_async.binance, server: SimulatorServer
) -> None:
    bid = (await binance.fetch_order_book("BTC/USDT"))["bids"][0][0]
    order = await binance.create_order("BTC/USDT", "limit", "buy", 0.01, bid)
    for _ in range(200):
        server.step()
        if not server.exchange.venue.engine.working:
            break
    fetched = await binance.fetch_order(order["id"], "BTC/USDT")
    assert fetched["status"] == "closed"
    (trade,) = await binance.fetch_my_trades("BTC/USDT")
    assert trade["info"]["isMaker"] is True and D(trade["info"]["price"]) == D(str(bid))
