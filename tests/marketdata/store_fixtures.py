"""Shared pieces of the store and history tests: one seeded 1m market, a live simulator
serving it as history, and the real ccxt binance class pointed at that simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from task_station.domain.bar_columns import BarColumns
from task_station.domain.clock import Clock, SystemClock
from task_station.marketdata.candle_files import frame_to_candles
from task_station.marketdata.history import CandleSource, Row
from task_station.marketdata.store import MarketStore
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.services.market_data import MarketDataService
from task_station.venues.ccxt_cex.history import CcxtHistorySources, ExchangeRoute
from task_station.venues.ccxt_cex.retry import RetryPolicy
from task_station.venues.simulator.ccxt_setup import SPOT_ONLY_OPTIONS
from task_station.venues.simulator.market import market_data
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer

#: 2023-01-31 20:00 UTC: the January/February file boundary falls 240 bars in.
START = datetime(2023, 1, 31, 20, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
STEP = 60_000
BARS = 2200
SYMBOL = "BTC/USDT"
VENUE = "simulator"
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


@lru_cache(maxsize=4)
def history_frame(bars: int = BARS, seed: int = 5) -> pd.DataFrame:
    """The venue's 1m history (one more bar than served: the simulator keeps one to play)."""
    return generate_frame(
        SyntheticMarketSpec(seed=seed, bars=bars + 1, timeframe="1m", start_ms=START_MS)
    ).iloc[:bars]


def ms(bar: int) -> int:
    """Open time of bar number ``bar`` of the history."""
    return START_MS + bar * STEP


def assert_same_bars(bars: BarColumns, frame: pd.DataFrame) -> None:
    """Stored bars equal the venue's, cell for cell (floats compared exactly)."""
    assert np.array_equal(bars.ts, frame["timestamp"].to_numpy())
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(bars, name), frame[name].to_numpy()), name


async def start_simulator(bars: int = BARS) -> SimulatorServer:
    frame = generate_frame(
        SyntheticMarketSpec(seed=5, bars=bars + 1, timeframe="1m", start_ms=START_MS)
    )
    data = market_data(frame_to_candles(frame), "1m", SYMBOL)
    config = SimulatorConfig(port=0, bars_per_second=0, history_bars=bars, warmup_bars=0)
    server = SimulatorServer(data, config)
    await server.start()
    return server


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    """A loopback binance serving ``BARS`` one-minute bars of history."""
    server = await start_simulator()
    try:
        yield server
    finally:
        await server.stop()


class SpySources:
    """The real ccxt sources, recording the ``since`` of every candle request."""

    def __init__(self, url: str) -> None:
        route = ExchangeRoute("binance", url, SPOT_ONLY_OPTIONS, rate_limit_ms=1)
        self._real = CcxtHistorySources({VENUE: route}, retry=FAST_RETRY)
        self.since: list[int] = []

    def configured_venues(self) -> list[str]:
        return self._real.configured_venues()

    def open(self, venue: str) -> CandleSource:
        return _Spy(self._real.open(venue), self.since)


class _Spy:
    def __init__(self, inner: CandleSource, since: list[int]) -> None:
        self._inner = inner
        self._since = since

    @property
    def venue(self) -> str:
        return self._inner.venue

    @property
    def page_limit(self) -> int:
        return self._inner.page_limit

    async def prepare(self, symbol: str, timeframe: str) -> None:
        await self._inner.prepare(symbol, timeframe)

    async def fetch_candles(
        self, symbol: str, timeframe: str, since_ms: int, limit: int
    ) -> Sequence[Row]:
        self._since.append(since_ms)
        return await self._inner.fetch_candles(symbol, timeframe, since_ms, limit)

    async def close(self) -> None:
        await self._inner.close()


def make_service(
    root: Path, url: str, clock: Clock | None = None
) -> tuple[MarketDataService, SpySources]:
    clock = clock or SystemClock()
    sources = SpySources(url)
    return MarketDataService(MarketStore(root, clock=clock), sources, clock), sources
