"""The streams of ``CcxtLiveFeed``: what each one watches or polls, what it publishes and
how it recovers what an outage hid.

* **Trades** are deduplicated by id (a bounded memory of recent ids). After a
  reconnect the first live batch is held back while REST ``fetch_trades`` pages from the
  last trade seen until it reaches that batch's newest trade: everything printed during
  the outage comes out once, in time order, marked ``recovered``, before the batch.
  A venue whose REST history answers in time windows (Binance: one hour from ``since``)
  is paged window by window; if the pages run out first, the trader is told. A batch
  that was awaited while a connection was lost may be ccxt's cache of the dead one: it
  is held back, not used as the end of the gap, until a batch from a live connection.
* **Candles** come out as ``closed=False`` while they form and ``closed=True`` once a
  later candle appears; after a reconnect ``fetch_ohlcv`` since the last candle seen
  fills the bars in between.
* **Books** are the best ``depth`` levels after each update; ccxt.pro keeps the book
  from snapshot plus diffs and refuses a sequence gap, which the feed turns into a
  resync. **Tickers** publish when bid, ask or last change.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from task_station.domain.clock import ms_to_datetime
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    BookUpdated,
    CandleUpdated,
    FeedStatus,
    Level,
    StreamKind,
    Subscription,
    TickerUpdated,
    TradePrinted,
)
from task_station.venues.ccxt_cex import convert
from task_station.venues.ccxt_cex.retry import RetryPolicy
from task_station.venues.ccxt_cex.types import PublicTrade

Raw = Any

#: Venue quirks as data, keyed by ccxt exchange id. ``watch``: parameters for ccxt.pro
#: watch methods so that websocket and REST share trade ids (Binance's ``@trade``
#: stream numbers raw trades, its REST ``aggTrades`` numbers aggregates: both sides use
#: aggregates). ``trade_window_ms``: how far one ``fetch_trades(since)`` reaches.
VENUE_QUIRKS: dict[str, dict[str, Any]] = {
    exchange: {"watch": {"watchTrades": {"name": "aggTrade"}}, "trade_window_ms": 3_600_000}
    for exchange in ("binance", "binanceus", "binanceusdm", "binancecoinm")
}


@dataclass(frozen=True, slots=True)
class LiveFeedConfig:
    """How a live feed reconnects, polls and fills gaps (defaults suit a real venue)."""

    reconnect: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=1, base_delay=0.5, max_delay=30.0)
    )
    reads: RetryPolicy = field(default_factory=RetryPolicy)
    poll_interval: float = 2.0
    book_depth: int = 20
    trades_page: int = 1000
    gap_fill_pages: int = 100
    #: Seconds to wait for live data after a reconnect before asking REST anyway.
    gap_fill_idle: float = 5.0
    #: Seconds between looks at ccxt.pro's cache while a watch waits: a message that
    #: arrives while no watch is pending is cached but resolves nothing until the next.
    drain_interval: float = 0.25
    remember_trades: int = 10_000
    watch_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    trade_window_ms: int | None = None


class StreamHost(Protocol):
    """What a stream needs from its feed."""

    venue: str
    config: LiveFeedConfig

    @property
    def exchange(self) -> Any: ...

    def now(self) -> datetime: ...

    def emit(self, event: Event) -> None: ...

    def status(self, stream: Stream, status: FeedStatus, detail: str = "", **more: Any) -> None:
        """Publish a ``FeedStatusChanged`` for ``stream``."""

    async def read(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """A REST read retried on transient errors; ccxt errors pass through."""


class Stream:
    """One subscription: watch (websocket) or poll (REST), deliver, recover."""

    kind: StreamKind
    watch_method: str

    def __init__(self, host: StreamHost, sub: Subscription) -> None:
        self.host = host
        self.sub = sub
        self.symbol = sub.symbol
        self.gap_pending = False  # an outage happened; recover on the next delivery

    @property
    def ex(self) -> Any:
        return self.host.exchange

    def params(self) -> dict[str, Any]:
        return dict(self.host.config.watch_params.get(self.watch_method, {}))

    async def watch(self) -> Raw:
        raise NotImplementedError

    async def poll(self) -> Raw:
        raise NotImplementedError

    async def deliver(self, raw: Raw, *, join: bool = True) -> None:
        """Publish ``raw``. ``join``: it came over a connection that was live while it
        was awaited, so after a gap REST can be asked up to it."""
        raise NotImplementedError

    def disconnected(self) -> None:
        """The transport failed: what comes next may have missed something."""
        self.gap_pending = True

    def idle_timeout(self) -> float | None:
        """Seconds to wait for live data before ``on_idle`` (None: wait for ever)."""
        return None

    async def on_idle(self) -> None:
        """No live data for ``idle_timeout`` seconds: look at ccxt's cache, or ask REST."""


class TradeStream(Stream):
    kind = StreamKind.TRADES
    watch_method = "watchTrades"

    def __init__(self, host: StreamHost, sub: Subscription) -> None:
        super().__init__(host, sub)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.last_ts: int | None = None
        self._gap_from = 0  # the last trade seen before the outage (ms)
        self._held: list[tuple[int, str, PublicTrade]] = []  # live trades after it

    async def watch(self) -> Raw:
        return await self.ex.watch_trades(self.symbol, None, None, self.params())

    async def poll(self) -> Raw:
        since, limit = self.last_ts, self.host.config.trades_page
        return await self.host.read(
            "poll trades", lambda: self.ex.fetch_trades(self.symbol, since, limit)
        )

    def disconnected(self) -> None:
        if self.last_ts is not None and not self.gap_pending:
            self.gap_pending, self._gap_from = True, self.last_ts

    def idle_timeout(self) -> float | None:
        cfg = self.host.config
        return cfg.gap_fill_idle if self.gap_pending else cfg.drain_interval

    async def on_idle(self) -> None:
        if self.gap_pending:  # provisional: the first live batch fills again from here
            complete, _ = await self.fill(self._gap_from, until_ms=None)
            if complete and self.last_ts is not None:
                self._gap_from = self.last_ts
            return
        cache = getattr(self.ex, "trades", None)
        cached = cache.get(self.symbol) if isinstance(cache, dict) else None
        if cached:
            fresh = []
            for item in reversed(list(cached)):  # newest first, up to what was seen
                if self._key(item) in self._seen:
                    break
                fresh.append(item)
            self._emit(self._parse(fresh), recovered=False)

    async def deliver(self, raw: Raw, *, join: bool = True) -> None:
        trades = self._parse(raw)
        if self.gap_pending:
            # Held back until REST has filled the gap, so trades come out in time order.
            self._held.extend(trades)
            if not (join and trades):
                return
            until = max(t[0] for t in trades)
            complete, recovered = await self.fill(self._gap_from, until_ms=until)
            self.gap_pending = False
            trades, self._held = sorted(self._held, key=_order), []
            status = FeedStatus.GAP_FILLED if complete else FeedStatus.GAP_UNFILLED
            detail = (
                f"{recovered} trade(s) missed during the outage recovered from REST"
                if complete
                else f"REST history did not reach back over the whole outage ({recovered} "
                "trade(s) recovered); candles built from trades may lack some volume"
            )
            self.host.status(self, status, detail, recovered=recovered)
        self._emit(trades, recovered=False)

    async def fill(self, since_ms: int, until_ms: int | None) -> tuple[bool, int]:
        """Page REST trades from ``since_ms``; ``(reached until_ms, recovered)``.

        Without ``until_ms`` it stops at the first page that is not full.
        """
        cfg = self.host.config
        cursor, recovered = since_ms, 0
        for _ in range(cfg.gap_fill_pages):
            page = self._parse(await self.host.read("fill the trades gap", self._page(cursor)))
            recovered += self._emit(page, recovered=True)
            newest = max((t[0] for t in page), default=None)
            if until_ms is not None and newest is not None and newest >= until_ms:
                return True, recovered
            if len(page) >= cfg.trades_page:  # more in this window: page on by time
                if newest is None or newest <= cursor:
                    return False, recovered  # a full page within one millisecond
                cursor = newest
            elif until_ms is None or cfg.trade_window_ms is None:
                return True, recovered  # REST answered through now
            else:
                cursor = max(cursor + cfg.trade_window_ms, newest or cursor)
                if cursor >= until_ms:
                    return True, recovered
        return False, recovered

    def _page(self, since: int) -> Callable[[], Awaitable[Any]]:
        return lambda: self.ex.fetch_trades(self.symbol, since, self.host.config.trades_page)

    @staticmethod
    def _key(item: Mapping[str, Any]) -> str:
        """The trade's id, or its time, price, amount and side where it has none."""
        trade_id = item.get("id")
        if trade_id not in (None, ""):
            return str(trade_id)
        return (
            f"{item.get('timestamp')}:{item.get('price')}:{item.get('amount')}:{item.get('side')}"
        )

    def _parse(self, raw: Raw) -> list[tuple[int, str, PublicTrade]]:
        now = self.host.now()
        out = []
        for item in raw or ():
            trade = convert.public_trade_from(item, now)
            out.append((int(item.get("timestamp") or 0), self._key(item), trade))
        out.sort(key=_order)
        return out

    def _emit(self, trades: list[tuple[int, str, PublicTrade]], *, recovered: bool) -> int:
        count = 0
        for ts, key, trade in trades:
            if key in self._seen:
                continue
            self._seen[key] = None
            if len(self._seen) > self.host.config.remember_trades:
                self._seen.popitem(last=False)
            self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
            self.host.emit(
                TradePrinted(
                    ts=trade.ts, venue=self.host.venue, symbol=self.symbol,
                    trade_id=trade.id or key, price=trade.price, amount=trade.amount,
                    side=trade.side, recovered=recovered,
                )
            )  # fmt: skip
            count += 1
        return count


def _order(trade: tuple[int, str, PublicTrade]) -> tuple[int, int, str]:
    """Time, then id: numeric ids as numbers (``9`` before ``10``), others as text."""
    ts, key, _ = trade
    return (ts, int(key), "") if key.isdigit() else (ts, 0, key)


class CandleStream(Stream):
    kind = StreamKind.CANDLES
    watch_method = "watchOHLCV"

    def __init__(self, host: StreamHost, sub: Subscription) -> None:
        super().__init__(host, sub)
        self.timeframe = sub.timeframe or "1m"
        self.last_ts: int | None = None
        self._last: tuple[Any, ...] | None = None
        self._gap_from = 0
        self._held: list[Any] = []

    async def watch(self) -> Raw:
        return await self.ex.watch_ohlcv(self.symbol, self.timeframe, None, None, self.params())

    async def poll(self) -> Raw:
        since = self.last_ts
        limit = None if since is not None else 2  # start with the last closed + forming
        return await self.host.read(
            "poll candles", lambda: self.ex.fetch_ohlcv(self.symbol, self.timeframe, since, limit)
        )

    def disconnected(self) -> None:
        if self.last_ts is not None and not self.gap_pending:
            self.gap_pending, self._gap_from = True, self.last_ts

    async def deliver(self, raw: Raw, *, join: bool = True) -> None:
        if self.gap_pending:
            self._held.extend(raw or ())
            if not join:
                return  # held until REST has the bars in between
            since = self._gap_from
            rows = await self.host.read(
                "fill the candles gap",
                lambda: self.ex.fetch_ohlcv(self.symbol, self.timeframe, since),
            )
            before = self.last_ts
            self._process(rows)
            self.gap_pending = False
            raw, self._held = self._held, []
            filled = sum(1 for r in rows or () if before is None or int(r[0]) > before)
            self.host.status(
                self, FeedStatus.GAP_FILLED, f"{filled} candle(s) refreshed from REST",
                recovered=filled,
            )  # fmt: skip
        self._process(raw)

    def _process(self, rows: Raw) -> None:
        for row in sorted(rows or (), key=lambda r: int(r[0])):
            ts = int(row[0])
            values = tuple(row[:6])
            if self.last_ts is not None and ts < self.last_ts:
                continue  # older than what was published
            if ts == self.last_ts:
                if values != self._last:
                    self._publish(values, closed=False)
            else:
                if self._last is not None:
                    self._publish(self._last, closed=True)
                self._publish(values, closed=False)
            self.last_ts, self._last = ts, values

    def _publish(self, row: tuple[Any, ...], *, closed: bool) -> None:
        candle = convert.candle_from(list(row))
        self.host.emit(
            CandleUpdated(
                ts=candle.ts, venue=self.host.venue, symbol=self.symbol,
                timeframe=self.timeframe, candle=candle, closed=closed,
            )
        )  # fmt: skip


class BookStream(Stream):
    kind = StreamKind.BOOK
    watch_method = "watchOrderBook"

    def __init__(self, host: StreamHost, sub: Subscription) -> None:
        super().__init__(host, sub)
        self.depth = sub.depth or host.config.book_depth
        self._last: tuple[int | None, tuple[Level, ...], tuple[Level, ...]] | None = None

    async def watch(self) -> Raw:
        return await self.ex.watch_order_book(self.symbol, None, self.params())

    async def poll(self) -> Raw:
        return await self.host.read(
            "poll order book", lambda: self.ex.fetch_order_book(self.symbol, None)
        )

    def idle_timeout(self) -> float | None:
        return self.host.config.drain_interval

    async def on_idle(self) -> None:
        books = getattr(self.ex, "orderbooks", None)
        book = books.get(self.symbol) if isinstance(books, dict) else None
        if book is not None and book.get("nonce") is not None:
            await self.deliver(book)  # updated by diffs that resolved no watch

    async def deliver(self, raw: Raw, *, join: bool = True) -> None:
        bids = _levels(raw.get("bids"), self.depth)
        asks = _levels(raw.get("asks"), self.depth)
        nonce = raw.get("nonce")
        state = (int(nonce) if nonce is not None else None, bids, asks)
        if state == self._last:
            return
        self._last = state
        if bids and asks and bids[0][0] >= asks[0][0]:
            self.host.status(
                self, FeedStatus.RESYNCING,
                f"the venue's book is crossed (bid {bids[0][0]} >= ask {asks[0][0]}); "
                "not published, waiting for the next update",
            )  # fmt: skip
            return
        ts = raw.get("timestamp")
        self.host.emit(
            BookUpdated(
                ts=ms_to_datetime(int(ts)) if ts else self.host.now(), venue=self.host.venue,
                symbol=self.symbol, bids=bids, asks=asks, sequence=state[0],
            )
        )  # fmt: skip


def _levels(raw: object, depth: int) -> tuple[Level, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        (convert.dec0(level[0], "price"), convert.dec0(level[1], "amount")) for level in raw[:depth]
    )


class TickerStream(Stream):
    kind = StreamKind.TICKER
    watch_method = "watchTicker"

    def __init__(self, host: StreamHost, sub: Subscription) -> None:
        super().__init__(host, sub)
        self._last: tuple[Decimal | None, ...] | None = None

    async def watch(self) -> Raw:
        return await self.ex.watch_ticker(self.symbol, self.params())

    async def poll(self) -> Raw:
        return await self.host.read("poll ticker", lambda: self.ex.fetch_ticker(self.symbol))

    async def deliver(self, raw: Raw, *, join: bool = True) -> None:
        ticker = convert.ticker_from(raw, self.host.now())
        state = (ticker.bid, ticker.ask, ticker.last)
        if state == self._last:
            return
        self._last = state
        self.host.emit(
            TickerUpdated(
                ts=ticker.ts, venue=self.host.venue, symbol=self.symbol,
                bid=ticker.bid, ask=ticker.ask, last=ticker.last,
            )
        )  # fmt: skip


STREAMS: dict[StreamKind, type[Stream]] = {
    StreamKind.TRADES: TradeStream,
    StreamKind.CANDLES: CandleStream,
    StreamKind.BOOK: BookStream,
    StreamKind.TICKER: TickerStream,
}
