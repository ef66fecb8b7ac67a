"""Injected faults surface as the ccxt errors a live bot must handle."""

from __future__ import annotations

import time

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from task_station.domain.errors import ValidationError
from task_station.venues.simulator.faults import FaultSpec
from task_station.venues.simulator.server import SimulatorServer


def test_fault_spec_with_same_seed_replays_same_draws() -> None:
    spec = "latency=50ms,rate429=0.3,err5xx=0.2,seed=1"
    a, b = FaultSpec.parse(spec), FaultSpec.parse(spec)
    assert a.latency_s == 0.05
    assert [a.roll("rate429") for _ in range(50)] == [b.roll("rate429") for _ in range(50)]


def test_fault_spec_unknown_key_is_refused_naming_valid_keys() -> None:
    with pytest.raises(ValidationError, match="rate429"):
        FaultSpec.parse("rate=0.1")


async def test_rate_limit_fault_raises_ddos_protection(
    binance: ccxt_async.binance, server: SimulatorServer
) -> None:
    server.set_faults("rate429=1")
    with pytest.raises(ccxt_async.DDoSProtection):
        await binance.fetch_ticker("BTC/USDT")


async def test_server_error_fault_raises_exchange_not_available(
    binance: ccxt_async.binance, server: SimulatorServer
) -> None:
    server.set_faults("err5xx=1")
    with pytest.raises(ccxt_async.ExchangeNotAvailable):
        await binance.fetch_ticker("BTC/USDT")


async def test_latency_fault_delays_every_request(
    binance: ccxt_async.binance, server: SimulatorServer
) -> None:
    server.set_faults("latency=150ms")
    start = time.perf_counter()
    await binance.fetch_ticker("BTC/USDT")
    assert time.perf_counter() - start >= 0.15


async def test_timeout_after_accept_leaves_order_findable_by_client_id(
    binance: ccxt_async.binance, server: SimulatorServer
) -> None:
    server.set_faults("timeout_after_accept=1")
    params = {"newClientOrderId": "lost-ack-1"}
    with pytest.raises(ccxt_async.NetworkError):
        await binance.create_order("BTC/USDT", "limit", "buy", 0.01, 1000, params)
    server.set_faults("")
    found = await binance.fetch_order(None, "BTC/USDT", {"origClientOrderId": "lost-ack-1"})
    assert found["status"] == "open" and found["clientOrderId"] == "lost-ack-1"


async def test_dropped_websocket_raises_network_error_to_watcher(
    binance_pro: ccxt_pro.binance, server: SimulatorServer
) -> None:
    import asyncio

    task = asyncio.ensure_future(binance_pro.watch_ticker("BTC/USDT"))
    await asyncio.sleep(0.1)
    server.set_faults("drop_ws=1")
    server.step()
    with pytest.raises(ccxt_async.NetworkError):
        await asyncio.wait_for(task, 2)
