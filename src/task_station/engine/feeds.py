"""Candle feeds that drive a bot: replays of stored or synthetic bars."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from task_station.domain.candles import Candle


class ReplayFeed:
    """Yield ``candles`` in order, waiting ``pace`` seconds between bars (0: as fast as
    possible, still yielding to the event loop so the GUI and API stay responsive)."""

    def __init__(self, candles: Sequence[Candle], pace: float = 0.0, start: int = 0) -> None:
        self._candles = candles
        self._pace = pace
        self.position = start

    def __aiter__(self) -> AsyncIterator[Candle]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Candle]:
        while self.position < len(self._candles):
            candle = self._candles[self.position]
            self.position += 1
            yield candle
            if self._pace > 0:
                await asyncio.sleep(self._pace)
            elif self.position % 512 == 0:
                await asyncio.sleep(0)
