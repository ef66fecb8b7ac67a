"""Live snapshots: emitted when every input has reported, never from a stale input,
with pool tokens named as the trader names them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from task_station.domain.clock import ManualClock
from task_station.domain.dex import PoolState, Token
from task_station.engine.market_watch import SnapshotAssembler, named, poll_pool

D = Decimal
WETH = Token("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", 18)
USD = Token("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD", 6)
ON_CHAIN_USD = Token(USD.address, "UNI-V2", 6)  # what the contract's symbol() says


@dataclass
class Book:
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


def pool(r0: int, r1: int) -> PoolState:
    return PoolState("0x" + "ab" * 20, ON_CHAIN_USD, WETH, r0, r1)


async def feed(items: list[object], gate: asyncio.Event | None = None) -> AsyncIterator[object]:
    for item in items:
        if gate is not None:
            await gate.wait()
        yield item
        await asyncio.sleep(0)


async def test_snapshots_wait_for_every_input_and_carry_the_traders_token_names() -> None:
    clock = ManualClock(datetime(2024, 1, 1, tzinfo=UTC))
    watch = SnapshotAssembler(clock)
    book = Book(((D(1999), D(1)),), ((D(2001), D(1)),))
    gate = asyncio.Event()
    watch.add_book("cex", "ETH/USD", feed([book]))  # type: ignore[arg-type]
    watch.add_pool("dex", "WETH/USD", feed([pool(2_000 * 10**6, 10**18)], gate), WETH, USD)  # type: ignore[arg-type]
    seen = []

    async def consume() -> None:
        async for snap in watch:
            seen.append(snap)
            watch.close()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    assert seen == []  # the pool has not reported yet
    gate.set()
    await asyncio.wait_for(task, 2)
    (snap,) = seen
    market = snap.pool("dex", "WETH/USD")
    assert {market.pool.token0.symbol, market.pool.token1.symbol} == {"USD", "WETH"}
    assert market.mid_price == D(2000)
    assert snap.book("cex", "ETH/USD").mid == D(2000)


def test_a_stale_input_holds_snapshots_back() -> None:
    clock = ManualClock(datetime(2024, 1, 1, tzinfo=UTC))
    watch = SnapshotAssembler(clock, max_age=timedelta(seconds=5))
    watch.add_book("cex", "ETH/USD", feed([]))  # type: ignore[arg-type]
    slot = watch._books[("cex", "ETH/USD")]
    from task_station.domain.arbitrage import OrderBook

    slot.value = OrderBook.of([(D(1), D(1))], [(D(2), D(1))])
    slot.at = clock.now()
    assert watch.snapshot() is not None
    clock.set(clock.now() + timedelta(seconds=6))
    assert watch.snapshot() is None


def test_named_swaps_in_the_traders_tokens_by_address() -> None:
    renamed = named(pool(1, 2), WETH, USD)
    assert renamed.token0 == USD and renamed.token1 == WETH
    assert (renamed.reserve0, renamed.reserve1) == (1, 2)


async def test_poll_pool_yields_only_changes_and_survives_read_errors() -> None:
    reads = iter([pool(1, 1), pool(1, 1), RuntimeError("node down"), pool(2, 1)])

    async def read() -> PoolState:
        item = next(reads)
        if isinstance(item, Exception):
            raise item
        return item

    got = []
    async for p in poll_pool(read, 0):
        got.append((p.reserve0, p.reserve1))
        if len(got) == 2:
            break
    assert got == [(1, 1), (2, 1)]
