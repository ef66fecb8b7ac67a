"""Market-data streams: ccxt.pro websockets where the exchange has them, REST polling
otherwise. Both yield the same exact (Decimal) values, so consumers cannot tell."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from task_station.domain.candles import Candle
from task_station.venues.ccxt_cex import convert
from task_station.venues.ccxt_cex.types import BookSnapshot, PublicTrade, Ticker

if TYPE_CHECKING:
    from task_station.venues.ccxt_cex.venue import CcxtVenue

T = TypeVar("T")


async def _raw(
    venue: CcxtVenue, ex: Any, what: str, symbol: str, watch: str, kind: str, *args: Any
) -> AsyncIterator[Any]:
    """Yield raw ccxt payloads from ccxt.pro's ``watch_<kind>`` or by polling ``fetch_<kind>``.

    ``kind`` is ccxt's snake-case name (``ticker``, ``trades``, ``order_book``, ``ohlcv``).
    """
    await venue.load_markets()
    action = venue.action(what, symbol)
    streaming = watch in venue.features.watches
    call: Callable[..., Awaitable[Any]] = getattr(ex, f"{'watch' if streaming else 'fetch'}_{kind}")
    while True:
        yield await venue.read(action, lambda: call(symbol, *args))
        if not streaming:
            await asyncio.sleep(venue.poll_interval)


async def tickers(venue: CcxtVenue, ex: Any, symbol: str) -> AsyncIterator[Ticker]:
    async for raw in _raw(venue, ex, "watch ticker", symbol, "watchTicker", "ticker"):
        yield convert.ticker_from(raw, venue.now())


async def trades(venue: CcxtVenue, ex: Any, symbol: str) -> AsyncIterator[PublicTrade]:
    seen: set[str] = set()
    async for raw in _raw(venue, ex, "watch trades", symbol, "watchTrades", "trades"):
        for t in raw:
            trade = convert.public_trade_from(t, venue.now())
            if trade.id and trade.id in seen:
                continue  # polling returns the same recent trades again
            seen.add(trade.id)
            yield trade
        if len(seen) > 10_000:
            seen.clear()


async def books(
    venue: CcxtVenue, ex: Any, symbol: str, limit: int | None
) -> AsyncIterator[BookSnapshot]:
    async for raw in _raw(
        venue, ex, "watch order book", symbol, "watchOrderBook", "order_book", limit
    ):
        yield convert.book_from(raw, symbol, venue.now())


async def candles(venue: CcxtVenue, ex: Any, symbol: str, timeframe: str) -> AsyncIterator[Candle]:
    """Candles as they update; the latest one repeats while its bar is still open."""
    last: datetime | None = None
    async for rows in _raw(venue, ex, "watch candles", symbol, "watchOHLCV", "ohlcv", timeframe):
        for row in rows:
            candle = convert.candle_from(row)
            if last is None or candle.ts >= last:
                last = candle.ts
                yield candle
