"""A live simulator on 127.0.0.1 and real ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from task_station.domain.candles import Candle
from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe, read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.venues.simulator.ccxt_setup import point_ccxt_at
from task_station.venues.simulator.market import MarketData
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer, load_data

KEY, SECRET = "test-key", "test-secret"


def load_bars(path: Path | None, seed: int) -> tuple[list[Candle], str]:
    """The loader the CLI passes to ``main``: a candle file, or seeded synthetic bars."""
    frame = (
        generate_frame(SyntheticMarketSpec(seed=seed, bars=300))
        if path is None
        else read_frame(path)
    )
    return frame_to_candles(frame), infer_timeframe(frame)


@pytest.fixture(scope="session")
def synthetic() -> MarketData:
    return load_data(SimulatorConfig(seed=3), load_bars)


@pytest.fixture
async def server(synthetic: MarketData) -> AsyncIterator[SimulatorServer]:
    sim = SimulatorServer(
        synthetic,
        SimulatorConfig(port=0, seed=3, api_key=KEY, api_secret=SECRET, bars_per_second=0),
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def binance(server: SimulatorServer) -> AsyncIterator[ccxt_async.binance]:
    ex = ccxt_async.binance({"apiKey": KEY, "secret": SECRET, "timeout": 2000})
    point_ccxt_at(ex, server.url)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def binance_pro(server: SimulatorServer) -> AsyncIterator[ccxt_pro.binance]:
    ex = ccxt_pro.binance({"apiKey": KEY, "secret": SECRET, "timeout": 2000})
    point_ccxt_at(ex, server.url)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()
