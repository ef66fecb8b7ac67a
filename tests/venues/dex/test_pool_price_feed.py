"""Uniswap V2 pools as market-data events, against the real contracts on the dev chain.

Each block that moves the pool must give a ``PoolPriceUpdated`` whose price is the
pair's reserves ratio at that block (``getReserves``), and each swap a ``TradePrinted``
whose side, amount and price are what the swap's receipt says it moved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from web3.logs import DISCARD

from task_station.domain.clock import ManualClock
from task_station.domain.dex import DexSpec
from task_station.domain.errors import ValidationError
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    FeedStatus,
    FeedStatusChanged,
    PoolPriceUpdated,
    StreamKind,
    Subscription,
    TradePrinted,
)
from task_station.domain.orders import OrderSide
from task_station.domain.symbols import DexPair, DexSymbolRegistry
from task_station.marketdata.live import LiveMarketData
from task_station.venues.dex.pool_feed import PoolFeed, PoolPriceFeed, checksum_address
from tests.support.uniswap import DEADLINE, E18, UniswapWorld

VENUE = "uniswap-v2"
MARKET = "WETH/USD"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USD = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
PAIR = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"
ROUTER = "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"
FACTORY = "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f"


@pytest.fixture
def trader(world: UniswapWorld) -> str:
    account = world.chain.address(1)
    world.fund(account, weth=20 * E18, usd=100_000 * E18)
    for token in (world.weth, world.usd):
        erc = world.contract("erc20", token.address)
        world.transact(erc.functions.approve(world.deployment.router, 2**255), account)
    return account


def registered(world: UniswapWorld) -> DexPair:
    registry = DexSymbolRegistry()
    chain = world.chain.chain_id
    registry.add_token(chain, world.weth.address, "WETH")
    registry.add_token(chain, world.usd.address.lower(), "USD")
    return registry.add_pair(
        chain, VENUE, world.pair_address(), world.weth.address, world.usd.address
    )


def swap(world: UniswapWorld, trader: str, amount: int, *, buy_weth: bool) -> Any:
    path = (
        [world.usd.address, world.weth.address]
        if buy_weth
        else [world.weth.address, world.usd.address]
    )
    router = world.contract("router", world.deployment.router)
    return world.transact(
        router.functions.swapExactTokensForTokens(amount, 0, path, trader, DEADLINE), trader
    )


def swap_amounts(world: UniswapWorld, receipt: Any) -> tuple[int, int, int, int]:
    """``(weth in, weth out, usd in, usd out)`` of the receipt's one Swap."""
    pair = world.contract("pair", world.pair_address())
    [event] = world.chain.run_sync(
        lambda: pair.events.Swap().process_receipt(receipt, errors=DISCARD)
    )
    a = event["args"]
    _, _, token0, _ = world.reserves()
    if token0.lower() == world.weth.address.lower():
        return a["amount0In"], a["amount0Out"], a["amount1In"], a["amount1Out"]
    return a["amount1In"], a["amount1Out"], a["amount0In"], a["amount0Out"]


def weth_usd_reserves_at(world: UniswapWorld, block: int) -> tuple[Decimal, Decimal]:
    pair = world.contract("pair", world.pair_address())
    r0, r1, _ = world.chain.run_sync(
        lambda: pair.functions.getReserves().call(block_identifier=block)
    )
    _, _, token0, _ = world.reserves()
    weth, usd = (r0, r1) if token0.lower() == world.weth.address.lower() else (r1, r0)
    return Decimal(weth).scaleb(-18), Decimal(usd).scaleb(-18)


async def wait_for(check: Callable[[], bool]) -> None:
    for _ in range(250):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting for the pool feed")


async def test_pool_prices_and_swaps_become_market_events(world: UniswapWorld, trader: str) -> None:
    pair = registered(world)
    pool_feed = PoolFeed.over_http(
        world.chain.url, world.dex, [world.pair_address()], poll_interval=0.02, max_backoff=0.1
    )
    feed = PoolPriceFeed(pool_feed, [pair], venue=VENUE)
    feed.subscribe(Subscription(StreamKind.POOL, MARKET))
    feed.subscribe(Subscription(StreamKind.TRADES, MARKET))
    events: list[Event] = []
    hub = LiveMarketData(events.append, ManualClock())
    hub.add_feed(feed)
    task = asyncio.create_task(hub.run())
    try:
        await wait_for(lambda: any(isinstance(e, PoolPriceUpdated) for e in events))
        [start] = [e for e in events if isinstance(e, PoolPriceUpdated)]
        weth, usd = weth_usd_reserves_at(world, start.block)
        assert (start.base_reserve, start.quote_reserve) == (weth, usd)
        assert start.price == usd / weth == Decimal(2000) and start.market.venue == VENUE
        assert [e.status for e in events if isinstance(e, FeedStatusChanged)] == [
            FeedStatus.CONNECTED, FeedStatus.CONNECTED,
        ]  # fmt: skip

        sold = await asyncio.to_thread(swap, world, trader, E18, buy_weth=False)
        bought = await asyncio.to_thread(swap, world, trader, 3_000 * E18, buy_weth=True)
        await wait_for(lambda: len([e for e in events if isinstance(e, TradePrinted)]) == 2)
        trades = [e for e in events if isinstance(e, TradePrinted)]
        weth_in, _, _, usd_out = swap_amounts(world, sold)
        assert trades[0].side is OrderSide.SELL and trades[0].amount == Decimal(weth_in).scaleb(-18)
        assert trades[0].price == Decimal(usd_out) / Decimal(weth_in)
        assert (
            trades[0].trade_id
            == f"{sold['transactionHash'].to_0x_hex()}:{sold['logs'][-1]['logIndex']}"
        )
        _, weth_out, usd_in, _ = swap_amounts(world, bought)
        assert trades[1].side is OrderSide.BUY and trades[1].amount == Decimal(weth_out).scaleb(-18)
        assert trades[1].price == Decimal(usd_in) / Decimal(weth_out)
        assert trades[0].price < start.price < trades[1].price  # fees and impact on both sides

        await wait_for(lambda: len([e for e in events if isinstance(e, PoolPriceUpdated)]) == 3)
        for update, receipt in zip(
            [e for e in events if isinstance(e, PoolPriceUpdated)][1:], (sold, bought), strict=True
        ):
            assert update.block == receipt["blockNumber"]
            weth, usd = weth_usd_reserves_at(world, update.block)
            assert (update.base_reserve, update.quote_reserve) == (weth, usd)
            assert update.price == usd / weth
        assert hub.last_price(VENUE, MARKET) == update.price
    finally:
        await hub.stop()
        await task


def test_unknown_pool_markets_and_streams_are_refused() -> None:
    registry = DexSymbolRegistry()
    registry.add_token(1, WETH, "WETH")
    registry.add_token(1, USD, "USD")
    pair = registry.add_pair(1, VENUE, PAIR, WETH, USD)
    dex = DexSpec(VENUE, 1, router=ROUTER, factory=FACTORY)
    pools = PoolFeed.over_http("http://127.0.0.1:9", dex, [PAIR])  # never started
    feed = PoolPriceFeed(pools, [pair], venue=VENUE)
    with pytest.raises(ValidationError, match=r"no pool for 'WETH/DAI' \(known: WETH/USD\)"):
        feed.subscribe(Subscription(StreamKind.POOL, "WETH/DAI"))
    with pytest.raises(ValidationError, match="pool prices and swaps"):
        feed.subscribe(Subscription(StreamKind.BOOK, MARKET))
    with pytest.raises(ValidationError, match="is not a market of sushiswap"):
        PoolPriceFeed(pools, [pair], venue="sushiswap")


def test_checksummed_addresses_are_checked_in_the_venue_layer() -> None:
    good = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    assert checksum_address(good.lower()) == good
    assert checksum_address("0x" + good[2:].upper()) == good
    assert checksum_address(good) == good
    with pytest.raises(ValidationError, match="fails its EIP-55 checksum"):
        checksum_address(good.replace("C02a", "c02A"))
    with pytest.raises(ValidationError, match="not an EVM address"):
        checksum_address("0xC02aaA39")
