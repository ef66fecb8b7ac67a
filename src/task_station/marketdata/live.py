"""The station's live market data: feeds in, events and current state out.

``LiveMarketData`` runs any number of ``MarketDataFeed`` (ccxt exchanges, DEX pools),
forwards every event to ``publish`` (the engine's bus) and keeps what bots and charts
ask for between events:

* an ``OrderBook`` per market from ``BookUpdated`` events. A book whose stream reports
  trouble (disconnected, resyncing) is marked out of sync at once, so nobody reads a
  price from a book that may have a hole; the next update brings it back.
* candles built from trades (``build_candles``), published as ``CandleUpdated`` with
  ``source="trades"``: forming after each trade, closed when a later trade opens a new
  bar or when the bar's end has passed by ``close_grace`` with a healthy trade stream. A
  bar is never closed by the clock while its trade stream is down: the trades REST
  recovers after the outage still belong in it.
* the last price per market (trade, ticker mid or pool price).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import Clock, datetime_to_ms
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    BookUpdated,
    CandleUpdated,
    FeedStatus,
    FeedStatusChanged,
    MarketDataFeed,
    PoolPriceUpdated,
    Publish,
    StreamKind,
    TickerUpdated,
    TradePrinted,
)
from task_station.marketdata.aggregate import CandleBuilder
from task_station.marketdata.orderbook import BINANCE_SPOT, DepthSnapshot, OrderBook

log = logging.getLogger(__name__)

MarketKey = tuple[str, str]  # (venue, venue-local symbol)

#: Stream states in which data flows (a bar may be closed by the clock).
HEALTHY = frozenset({FeedStatus.CONNECTED, FeedStatus.POLLING, FeedStatus.GAP_FILLED})
#: Book stream states after which the kept book cannot be trusted.
BOOK_TROUBLE = frozenset(
    {FeedStatus.DISCONNECTED, FeedStatus.RESYNCING, FeedStatus.FAILED, FeedStatus.STOPPED}
)


@dataclass(slots=True)
class _Builder:
    timeframe: str
    builder: CandleBuilder


class LiveMarketData:
    """Feeds -> ``publish``, plus books, trade-built candles and last prices."""

    def __init__(
        self,
        publish: Publish,
        clock: Clock,
        *,
        close_grace: timedelta = timedelta(seconds=2),
        tick: float = 1.0,
        forming_updates: bool = True,
    ) -> None:
        self._publish = publish
        self._clock = clock
        self._grace_ms = int(close_grace.total_seconds() * 1000)
        self._tick = tick
        self._forming = forming_updates
        self._feeds: list[MarketDataFeed] = []
        self._books: dict[MarketKey, OrderBook] = {}
        self._builders: dict[MarketKey, list[_Builder]] = {}
        self._prices: dict[MarketKey, Decimal] = {}
        self._status: dict[tuple[str, str, StreamKind], FeedStatus] = {}
        self._stopped = asyncio.Event()
        #: While ``run`` runs: its feed and timer tasks (feeds added later join them).
        self._tasks: list[asyncio.Task[None]] | None = None

    # -- set-up -----------------------------------------------------------------------

    def add_feed(self, feed: MarketDataFeed) -> None:
        """Add a feed; one added while ``run`` is running starts at once."""
        self._feeds.append(feed)
        if self._tasks is not None:
            self._tasks.append(asyncio.create_task(feed.run(self.on_event)))

    def build_candles(self, venue: str, symbol: str, timeframe: str) -> None:
        """Build ``timeframe`` candles of ``venue``'s ``symbol`` from its trades."""
        builders = self._builders.setdefault((venue, symbol), [])
        if all(b.timeframe != timeframe for b in builders):
            builders.append(_Builder(timeframe, CandleBuilder(timeframe)))

    # -- running ----------------------------------------------------------------------

    async def run(self) -> None:
        """Run every feed and the bar timer until ``stop``."""
        self._stopped.clear()
        tasks = [asyncio.create_task(f.run(self.on_event)) for f in self._feeds]
        tasks.append(asyncio.create_task(self._timer()))
        self._tasks = tasks
        try:
            await self._stopped.wait()
        finally:
            self._tasks = None
            for feed in self._feeds:
                with contextlib.suppress(Exception):
                    await feed.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def stop(self) -> None:
        self._stopped.set()

    @property
    def running(self) -> bool:
        """True while ``run`` is running (feeds added now start at once)."""
        return self._tasks is not None

    async def _timer(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            self.close_due()

    # -- events -----------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Take one feed event: update state, publish it and what it derives."""
        if isinstance(event, BookUpdated):
            self._on_book(event)
        elif isinstance(event, FeedStatusChanged):
            self._on_status(event)
        self._emit(event)
        if isinstance(event, TradePrinted):
            self._on_trade(event)
        elif isinstance(event, TickerUpdated):
            self._on_ticker(event)
        elif isinstance(event, PoolPriceUpdated):
            self._prices[(event.venue, event.symbol)] = event.price

    def _emit(self, event: Event) -> None:
        try:
            self._publish(event)
        except Exception:
            log.exception("publishing %s failed", type(event).__name__)

    def _on_book(self, event: BookUpdated) -> None:
        key = (event.venue, event.symbol)
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = OrderBook(event.symbol, BINANCE_SPOT)
        seq = event.sequence
        if seq is not None and book.synced and book.last_id is not None and seq < book.last_id:
            return  # an older book than the one kept
        last_id = seq if seq is not None else (book.last_id or 0) + 1
        book.apply_snapshot(
            DepthSnapshot(last_id, event.bids, event.asks, datetime_to_ms(event.ts))
        )

    def _on_status(self, event: FeedStatusChanged) -> None:
        self._status[(event.venue, event.symbol, event.stream)] = event.status
        if event.stream is StreamKind.BOOK and event.status in BOOK_TROUBLE:
            book = self._books.get((event.venue, event.symbol))
            if book is not None and book.synced:
                book.invalidate(f"{event.status.value}: {event.detail}")

    def _on_trade(self, event: TradePrinted) -> None:
        key = (event.venue, event.symbol)
        self._prices[key] = event.price
        ts_ms = datetime_to_ms(event.ts)
        for slot in self._builders.get(key, ()):
            closed = slot.builder.add(ts_ms, event.price, event.amount)
            if closed is not None:
                self._candle(key, slot.timeframe, closed, closed=True)
            if self._forming and (forming := slot.builder.forming) is not None:
                self._candle(key, slot.timeframe, forming, closed=False)

    def _on_ticker(self, event: TickerUpdated) -> None:
        if event.bid is not None and event.ask is not None:
            self._prices[(event.venue, event.symbol)] = (event.bid + event.ask) / 2
        elif event.last is not None:
            self._prices[(event.venue, event.symbol)] = event.last

    def _candle(self, key: MarketKey, timeframe: str, candle: Candle, *, closed: bool) -> None:
        self._emit(
            CandleUpdated(
                ts=self._clock.now(), venue=key[0], symbol=key[1], timeframe=timeframe,
                candle=candle, closed=closed, source="trades",
            )
        )  # fmt: skip

    def close_due(self) -> int:
        """Close trade-built bars whose end passed ``close_grace`` ago (healthy streams)."""
        now_ms = datetime_to_ms(self._clock.now()) - self._grace_ms
        closed = 0
        for key, slots in self._builders.items():
            if self._status.get((key[0], key[1], StreamKind.TRADES)) not in HEALTHY:
                continue
            for slot in slots:
                candle = slot.builder.close_until(now_ms)
                if candle is not None:
                    self._candle(key, slot.timeframe, candle, closed=True)
                    closed += 1
        return closed

    # -- reads ------------------------------------------------------------------------

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """The kept book (its price accessors raise while it is out of sync)."""
        return self._books.get((venue, symbol))

    def last_price(self, venue: str, symbol: str) -> Decimal | None:
        return self._prices.get((venue, symbol))

    def stream_status(self, venue: str, symbol: str, kind: StreamKind) -> FeedStatus | None:
        return self._status.get((venue, symbol, kind))
