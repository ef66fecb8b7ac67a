"""A bot's candle feed taken from the bus: closed bars of one market, live or replayed.

A bot whose data source is ``market:VENUE:BASE/QUOTE:TF`` is fed every closed
``CandleUpdated`` of that market and timeframe, whoever publishes it: the live feeds
(``marketdata.live.LiveMarketData``) or a replay of stored data
(``engine.market_replay.MarketReplay``). The bot's code path is the one it runs on a
candle file: the same runtime, one ``step`` per bar.

Bars reach the bot in order: a bar not newer than the last one it got (the same bar
closed twice by two producers, a replay sought backwards) is skipped. The buffer
between the bus and the bot is bounded; should a bot fall that far behind, the oldest
bars are dropped, counted and logged rather than growing without limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from datetime import datetime

from task_station.domain.candles import Candle
from task_station.domain.market_feed import CandleUpdated
from task_station.engine.bus import EventBus

log = logging.getLogger(__name__)

#: Bars held for a bot that has not taken them yet (a replay at full speed runs ahead).
MAX_PENDING_BARS = 100_000


class MarketCandleFeed:
    """Closed bars of ``venue``'s ``symbol`` in ``timeframe`` from ``bus``, until ``close``.

    It listens from construction on, so no bar published between a bot's start and its
    first step is lost.
    """

    def __init__(
        self,
        bus: EventBus,
        venue: str,
        symbol: str,
        timeframe: str,
        *,
        max_pending: int = MAX_PENDING_BARS,
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.timeframe = timeframe
        self.dropped = 0
        self.skipped = 0
        self._pending: deque[Candle] = deque()
        self._max = max_pending
        self._last: datetime | None = None
        self._ready = asyncio.Event()
        self._closed = False
        self._unsubscribe = bus.subscribe(CandleUpdated, self._on_candle)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """Stop listening; the bot's iteration ends once it has taken what is queued."""
        if not self._closed:
            self._closed = True
            self._unsubscribe()
            self._ready.set()

    def _on_candle(self, event: CandleUpdated) -> None:
        if (
            not event.closed
            or event.symbol != self.symbol
            or event.venue != self.venue
            or event.timeframe != self.timeframe
        ):
            return
        candle = event.candle
        if self._last is not None and candle.ts <= self._last:
            self.skipped += 1
            log.debug("%s:%s %s: bar %s is not newer than the last one; skipped",
                      self.venue, self.symbol, self.timeframe, candle.ts)  # fmt: skip
            return
        self._last = candle.ts
        if len(self._pending) >= self._max:
            self._pending.popleft()
            self.dropped += 1
            log.warning("%s:%s %s: the bot is %d bars behind; its oldest bar was dropped",
                        self.venue, self.symbol, self.timeframe, self._max)  # fmt: skip
        self._pending.append(candle)
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[Candle]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Candle]:
        try:
            while True:
                while self._pending:
                    yield self._pending.popleft()
                if self._closed:
                    return
                self._ready.clear()
                await self._ready.wait()
        finally:
            self.close()
