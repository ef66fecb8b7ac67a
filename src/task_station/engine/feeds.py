"""Candle feeds that drive a bot: replays of stored or synthetic bars."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from task_station.domain.candles import Candle

#: At pace 0 a replay hands the loop back at least this often (seconds), so the GUI,
#: the API and other bots stay responsive while one bot replays as fast as it can.
YIELD_EVERY_SECONDS = 0.005


class ReplayFeed:
    """Yield ``candles`` in order, waiting ``pace`` seconds between bars (0: as fast as
    possible, still yielding to the event loop every few milliseconds)."""

    def __init__(
        self, candles: Sequence[Candle], pace: float = 0.0, start: int = 0, fast_forward: int = 0
    ) -> None:
        self._candles = candles
        self._pace = pace
        self._fast_until = fast_forward  # bars before this index replay without pacing
        self.position = start

    def __aiter__(self) -> AsyncIterator[Candle]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Candle]:
        last_yield = time.perf_counter()
        while self.position < len(self._candles):
            candle = self._candles[self.position]
            self.position += 1
            yield candle
            if self._pace > 0 and self.position >= self._fast_until:
                await asyncio.sleep(self._pace)
            elif time.perf_counter() - last_yield >= YIELD_EVERY_SECONDS:
                await asyncio.sleep(0)
                last_yield = time.perf_counter()
