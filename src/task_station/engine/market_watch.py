"""Live market snapshots for arbitrage: order books and AMM pools merged as they move.

Each input (a CEX book stream, a DEX pool stream) runs as its own task and keeps only
its latest value; a snapshot of all of them is emitted whenever any one changes, once
every input has reported. A slow or failing input never blocks the others: its last
value stays until it is older than ``max_age``, after which snapshots wait for it, so
a strategy never trades against a stale price it believes fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from task_station.domain.arbitrage import MarketSnapshot, OrderBook, PoolMarket, VenueSymbol
from task_station.domain.clock import Clock
from task_station.domain.dex import PoolState, Token

log = logging.getLogger(__name__)


class HasLevels(Protocol):
    @property
    def bids(self) -> Iterable[tuple[Decimal, Decimal]]: ...
    @property
    def asks(self) -> Iterable[tuple[Decimal, Decimal]]: ...


@dataclass(slots=True)
class _Latest:
    value: OrderBook | PoolMarket | None = None
    at: datetime | None = None


async def poll_pool(
    read: Callable[[], Awaitable[PoolState]], interval: float
) -> AsyncIterator[PoolState]:
    """A pool stream from a reader: yields when the reserves change (and the first read).

    Read errors are logged and retried at the same pace: a node hiccup must not end the
    stream of a running bot.
    """
    last: tuple[int, int] | None = None
    while True:
        try:
            pool = await read()
        except Exception as exc:
            log.warning("reading a pool failed, retrying: %s", exc)
        else:
            if (pool.reserve0, pool.reserve1) != last:
                last = (pool.reserve0, pool.reserve1)
                yield pool
        await asyncio.sleep(interval)


def named(pool: PoolState, base: Token, quote: Token) -> PoolState:
    """``pool`` with its tokens as the trader names them.

    A contract's own ``symbol()`` may differ from the trader's name for it (``USDC.e``,
    or a test token's ``UNI-V2``); balances, plans and recordings use the trader's.
    """
    by_address = {base.address.lower(): base, quote.address.lower(): quote}
    t0 = by_address.get(pool.token0.address.lower(), pool.token0)
    t1 = by_address.get(pool.token1.address.lower(), pool.token1)
    return replace(pool, token0=t0, token1=t1)


class SnapshotAssembler:
    """Merges book and pool streams into ``MarketSnapshot`` values."""

    def __init__(
        self,
        clock: Clock,
        *,
        native_price: Callable[[], Decimal | None] | None = None,
        max_age: timedelta = timedelta(seconds=30),
    ) -> None:
        self._clock = clock
        self._native_price = native_price
        self._max_age = max_age
        self._books: dict[VenueSymbol, _Latest] = {}
        self._pools: dict[VenueSymbol, _Latest] = {}
        self._sources: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._closed = False

    def add_book(self, venue: str, symbol: str, stream: AsyncIterator[HasLevels]) -> None:
        slot = self._books.setdefault((venue, symbol), _Latest())

        async def follow() -> None:
            async for book in stream:
                try:
                    slot.value = OrderBook.of(book.bids, book.asks)
                except Exception as exc:  # a crossed or empty book: keep the last good one
                    log.warning("%s %s: ignoring a bad book: %s", venue, symbol, exc)
                    continue
                slot.at = self._clock.now()
                self._changed.set()

        self._sources.append(follow)

    def add_pool(
        self, venue: str, symbol: str, stream: AsyncIterator[PoolState], base: Token, quote: Token
    ) -> None:
        slot = self._pools.setdefault((venue, symbol), _Latest())

        async def follow() -> None:
            async for pool in stream:
                slot.value = PoolMarket(named(pool, base, quote), base, quote)
                slot.at = self._clock.now()
                self._changed.set()

        self._sources.append(follow)

    def snapshot(self) -> MarketSnapshot | None:
        """Every input's latest value, or None while one is missing or stale."""
        now = self._clock.now()
        books: dict[VenueSymbol, OrderBook] = {}
        pools: dict[VenueSymbol, PoolMarket] = {}
        for key, slot in self._books.items():
            if not isinstance(slot.value, OrderBook) or self._stale(slot, now):
                return None
            books[key] = slot.value
        for key, slot in self._pools.items():
            if not isinstance(slot.value, PoolMarket) or self._stale(slot, now):
                return None
            pools[key] = slot.value
        native = self._native_price() if self._native_price is not None else None
        return MarketSnapshot(ts=now, books=books, pools=pools, native_price=native)

    def _stale(self, slot: _Latest, now: datetime) -> bool:
        return slot.at is None or now - slot.at > self._max_age

    async def __aiter__(self) -> AsyncIterator[MarketSnapshot]:
        self._tasks = [asyncio.create_task(self._guard(src)) for src in self._sources]
        try:
            while not self._closed:
                await self._changed.wait()
                self._changed.clear()
                snap = self.snapshot()
                if snap is not None:
                    yield snap
        finally:
            await self._cancel()

    async def _guard(self, source: Callable[[], Awaitable[None]]) -> None:
        try:
            await source()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a market stream for arbitrage ended with an error")

    def close(self) -> None:
        """Stop after the current snapshot (the iterator ends)."""
        self._closed = True
        self._changed.set()

    async def _cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
