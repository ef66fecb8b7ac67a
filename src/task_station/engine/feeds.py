"""Candle feeds that drive a bot: replays of stored or synthetic bars."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from task_station.domain.candles import Candle
from task_station.domain.errors import DataError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BarSlice:
    """The bars of several symbols that opened at the same time ``ts``.

    A symbol without a bar at ``ts`` (no trade in that minute, a later listing) is
    simply absent: strategies see what the market printed, nothing forward-filled.
    """

    ts: datetime
    bars: Mapping[str, Candle]


def align(series: Mapping[str, Sequence[Candle]]) -> list[BarSlice]:
    """Merge per-symbol candle series into time steps, oldest first.

    Each series must be strictly increasing in time (a duplicate or out-of-order bar
    would make a step ambiguous, so it is refused with the symbol and time).
    """
    steps: dict[datetime, dict[str, Candle]] = {}
    for symbol, candles in series.items():
        previous: datetime | None = None
        for candle in candles:
            if previous is not None and candle.ts <= previous:
                raise DataError(
                    f"{symbol}: the bar at {candle.ts.isoformat()} does not follow "
                    f"{previous.isoformat()}; sort the series and drop duplicates"
                )
            previous = candle.ts
            steps.setdefault(candle.ts, {})[symbol] = candle
    return [BarSlice(ts, steps[ts]) for ts in sorted(steps)]


#: At pace 0 a replay hands the loop back at least this often (seconds), so the GUI,
#: the API and other bots stay responsive while one bot replays as fast as it can.
YIELD_EVERY_SECONDS = 0.005


class ReplayFeed(Generic[T]):
    """Yield ``candles`` (or ``BarSlice`` steps) in order, waiting ``pace`` seconds
    between them (0: as fast as possible, still yielding to the event loop every few
    milliseconds)."""

    def __init__(
        self, candles: Sequence[T], pace: float = 0.0, start: int = 0, fast_forward: int = 0
    ) -> None:
        self._candles = candles
        self._pace = pace
        self._fast_until = fast_forward  # bars before this index replay without pacing
        self.position = start

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
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
