"""Live prices for the markets a trader watches: one public feed per venue, opened on
the first watched market of that venue, streams added and removed as markets are.

Everything the feeds report goes onto the station's bus through ``LiveMarketData``
(tickers, trades, books, candles built from trades), so the Market dock's watchlist,
the charts, the recorder and bots on ``market:`` sources all see the same events.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import Callable, Iterable
from decimal import Decimal

from task_station.domain.errors import ConfigurationError, ValidationError
from task_station.domain.market_feed import MarketDataFeed, StreamKind, Subscription
from task_station.domain.symbols import MarketSymbol
from task_station.marketdata.live import LiveMarketData
from task_station.services.principal import Principal

#: What a watched market streams unless told otherwise.
DEFAULT_STREAMS = (StreamKind.TICKER, StreamKind.TRADES)
#: Candles built from a watched market's trades (for charts and ``market:`` bots).
TRADE_CANDLES = "1m"


class LiveWatchService:
    def __init__(self, live: LiveMarketData, open_feed: Callable[[str], MarketDataFeed]) -> None:
        self.live = live
        self._open_feed = open_feed
        self._feeds: dict[str, MarketDataFeed] = {}
        self._run: asyncio.Task[None] | None = None
        self._watched: dict[str, tuple[StreamKind, ...]] = {}

    def watched(self) -> builtins.list[str]:
        return sorted(self._watched)

    def last_price(self, market: str) -> Decimal | None:
        m = MarketSymbol.parse(market)
        return self.live.last_price(m.venue, m.pair)

    def watch(
        self, actor: Principal, market: str, streams: Iterable[str | StreamKind] = DEFAULT_STREAMS
    ) -> str:
        """Start streaming ``market`` (``venue:BASE/QUOTE``); returns its canonical name.
        Needs a running event loop (the station's)."""
        del actor  # any logged-in user may watch prices: nothing is traded
        m = MarketSymbol.parse(market)
        try:
            kinds = tuple(StreamKind(k) for k in streams)
        except ValueError:
            known = ", ".join(k.value for k in StreamKind)
            raise ValidationError(f"unknown stream in {list(streams)}; use {known}") from None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError("live prices need the station running") from None
        name = str(m)
        feed = self._feeds.get(m.venue)
        if feed is None:
            feed = self._feeds[m.venue] = self._open_feed(m.venue)
            self.live.add_feed(feed)  # starts at once once the hub runs
        if self._run is None:
            self._run = loop.create_task(self.live.run(), name="live market data")
        for kind in kinds:
            feed.subscribe(Subscription(kind, m.pair))
        if StreamKind.TRADES in kinds:
            self.live.build_candles(m.venue, m.pair, TRADE_CANDLES)
        self._watched[name] = kinds
        return name

    def unwatch(self, actor: Principal, market: str) -> None:
        del actor
        m = MarketSymbol.parse(market)
        kinds = self._watched.pop(str(m), ())
        feed = self._feeds.get(m.venue)
        unsubscribe = getattr(feed, "unsubscribe", None)
        if unsubscribe is not None:
            for kind in kinds:
                unsubscribe(Subscription(kind, m.pair))

    async def shutdown(self) -> None:
        """Stop every feed (their connections close) and the hub."""
        if self._run is not None:
            started = self.live.running
            await self.live.stop()
            if not started:  # created but not yet running: it would clear the stop
                self._run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run
            self._run = None
            if not started:
                for feed in self._feeds.values():
                    with contextlib.suppress(Exception):
                        await feed.stop()
        self._feeds.clear()
