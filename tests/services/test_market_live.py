"""Watching a market streams it live onto the station's bus: the real ccxt.pro class
against the loopback simulator, opened by venue name as the Market dock does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from task_station.domain.clock import SystemClock
from task_station.domain.errors import ValidationError
from task_station.domain.market_feed import TickerUpdated, TradePrinted
from task_station.domain.users import Role
from task_station.engine.bus import EventBus
from task_station.marketdata.live import LiveMarketData
from task_station.services.market_live import LiveWatchService
from task_station.services.principal import Principal
from task_station.venues.ccxt_cex.live_feed import live_feed_opener
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer, load_data
from tests.venues.simulator.conftest import load_bars

VIEWER = Principal("v", "vic", Role.VIEWER)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(
        load_data(SimulatorConfig(seed=3), load_bars),
        SimulatorConfig(port=0, seed=3, bars_per_second=20),
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_watched_market_streams_prices_onto_the_bus(sim: SimulatorServer) -> None:
    bus, clock = EventBus(), SystemClock()
    seen: list[TickerUpdated | TradePrinted] = []
    bus.subscribe(TickerUpdated, seen.append)
    bus.subscribe(TradePrinted, seen.append)
    watch = LiveWatchService(LiveMarketData(bus.publish, clock), live_feed_opener(clock, sim.url))
    try:
        name = watch.watch(VIEWER, "simulator:BTC/USDT")  # viewers may watch prices
        assert name == "simulator:BTC/USDT" and watch.watched() == [name]
        async with asyncio.timeout(15):
            while not any(isinstance(e, TradePrinted) for e in seen):
                await asyncio.sleep(0.05)
        assert {(e.venue, e.symbol) for e in seen} == {("simulator", "BTC/USDT")}
        assert watch.last_price(name) is not None
        watch.unwatch(VIEWER, name)
        assert watch.watched() == []
        feed = watch._feeds["simulator"]
        assert feed.subscriptions == []  # type: ignore[attr-defined]
    finally:
        await watch.shutdown()


async def test_a_bad_market_name_is_refused() -> None:
    clock = SystemClock()
    watch = LiveWatchService(LiveMarketData(EventBus().publish, clock), live_feed_opener(clock))
    with pytest.raises(ValidationError):
        watch.watch(VIEWER, "BTC-USDT")
    with pytest.raises(ValidationError, match="simulator_url"):
        watch.watch(VIEWER, "simulator:BTC/USDT")
    assert watch.watched() == []
    await watch.shutdown()


async def test_shutting_down_before_the_feeds_started_ends_cleanly(sim: SimulatorServer) -> None:
    clock = SystemClock()
    watch = LiveWatchService(
        LiveMarketData(EventBus().publish, clock), live_feed_opener(clock, sim.url)
    )
    watch.watch(VIEWER, "simulator:BTC/USDT")
    async with asyncio.timeout(5):
        await watch.shutdown()  # the hub's task had not run yet
    assert not watch.live.running
