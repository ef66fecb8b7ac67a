"""The simulator as a history venue: bars served at once as history, Binance's klines
paging (startTime, endTime, limit), and the hole and rate-limit faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest

from task_station.domain.clock import datetime_to_ms
from task_station.domain.errors import ValidationError
from task_station.venues.simulator.ccxt_setup import point_ccxt_at
from task_station.venues.simulator.faults import FaultSpec
from task_station.venues.simulator.market import MarketData
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer, parse_args

HOUR = 3_600_000


@pytest.fixture
async def history_server(synthetic: MarketData) -> AsyncIterator[SimulatorServer]:
    """250 of the 300 synthetic hourly bars as history, then a short warm-up."""
    config = SimulatorConfig(port=0, bars_per_second=0, history_bars=250, warmup_bars=5)
    sim = SimulatorServer(synthetic, config)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def bar_ms(data: MarketData, i: int) -> int:
    return datetime_to_ms(data.bars[i].ts)


async def klines(server: SimulatorServer, **params: Any) -> tuple[int, Any]:
    query = {"symbol": "BTCUSDT", "interval": "1h", **{k: str(v) for k, v in params.items()}}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v3/klines", params=query) as resp,
    ):
        return resp.status, await resp.json()


async def test_history_bars_are_served_at_once_and_the_market_still_trades(
    history_server: SimulatorServer, synthetic: MarketData
) -> None:
    market = history_server.exchange.market
    assert len(market.played) == 255 and market.played_ms[0] == bar_ms(synthetic, 0)
    assert market.now_ms() == bar_ms(synthetic, 255)  # the clock is after the last bar played
    bids, asks = market.book
    assert bids and asks and bids[0][0] < asks[0][0]


async def test_klines_page_forward_from_start_time_up_to_the_limit(
    history_server: SimulatorServer, synthetic: MarketData
) -> None:
    status, rows = await klines(history_server, startTime=bar_ms(synthetic, 10), limit=100)
    assert status == 200 and len(rows) == 100
    assert [rows[0][0], rows[-1][0]] == [bar_ms(synthetic, 10), bar_ms(synthetic, 109)]
    _, rows = await klines(history_server, startTime=bar_ms(synthetic, 10) + 1, limit=2)
    assert [r[0] for r in rows] == [bar_ms(synthetic, 11), bar_ms(synthetic, 12)]
    _, rows = await klines(history_server, startTime=bar_ms(synthetic, 10),
                           endTime=bar_ms(synthetic, 12), limit=100)  # fmt: skip
    assert len(rows) == 3  # endTime is inclusive, as at Binance
    _, rows = await klines(history_server, startTime=bar_ms(synthetic, 250), limit=1000)
    assert len(rows) == 5 and rows[-1][0] == bar_ms(synthetic, 254)
    _, rows = await klines(history_server, startTime=bar_ms(synthetic, 255))
    assert rows == []  # nothing played yet from there


async def test_klines_without_start_time_count_back_from_end_time_or_the_newest(
    history_server: SimulatorServer, synthetic: MarketData
) -> None:
    _, rows = await klines(history_server, endTime=bar_ms(synthetic, 100), limit=3)
    assert [r[0] for r in rows] == [bar_ms(synthetic, i) for i in (98, 99, 100)]
    _, rows = await klines(history_server, limit=2)
    assert [r[0] for r in rows] == [bar_ms(synthetic, 253), bar_ms(synthetic, 254)]
    _, rows = await klines(history_server)
    assert len(rows) == 255  # the default limit is 500
    _, rows = await klines(history_server, startTime=0, limit=5000)
    assert len(rows) == 255  # a limit over 1000 is capped, not refused


@pytest.mark.parametrize(
    ("params", "code"),
    [({"limit": 0}, -1100), ({"startTime": "x"}, -1100), ({"interval": "5m"}, -1120)],
)  # fmt: skip
async def test_bad_klines_queries_get_binance_errors(
    history_server: SimulatorServer, params: dict[str, Any], code: int
) -> None:
    status, body = await klines(history_server, **params)
    assert status == 400 and body["code"] == code


async def test_a_hole_leaves_bars_out_and_the_page_goes_on_past_it(
    history_server: SimulatorServer, synthetic: MarketData
) -> None:
    history_server.set_faults(f"hole={bar_ms(synthetic, 20)}-{bar_ms(synthetic, 30)}")
    _, rows = await klines(history_server, startTime=bar_ms(synthetic, 15), limit=10)
    opens = [r[0] for r in rows]
    assert opens == [bar_ms(synthetic, i) for i in (15, 16, 17, 18, 19, 30, 31, 32, 33, 34)]
    _, rows = await klines(history_server, endTime=bar_ms(synthetic, 31), limit=3)
    assert [r[0] for r in rows] == [bar_ms(synthetic, i) for i in (19, 30, 31)]


async def test_rate429_next_refuses_exactly_that_many_requests(
    history_server: SimulatorServer,
) -> None:
    history_server.set_faults("rate429_next=2")
    statuses = []
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            async with http.get(f"{history_server.url}/api/v3/ping") as resp:
                statuses.append((resp.status, resp.headers.get("Retry-After")))
    assert statuses == [(429, "1"), (429, "1"), (200, None)]


async def test_ccxt_fetch_ohlcv_pages_the_history(
    history_server: SimulatorServer, synthetic: MarketData
) -> None:
    ex = ccxt_async.binance({"timeout": 2000})
    point_ccxt_at(ex, history_server.url)
    try:
        page = await ex.fetch_ohlcv("BTC/USDT", "1h", bar_ms(synthetic, 0), 200)
        nxt = await ex.fetch_ohlcv("BTC/USDT", "1h", page[-1][0] + HOUR, 200)
    finally:
        await ex.close()
    assert len(page) == 200 and len(nxt) == 55
    assert nxt[0][0] == bar_ms(synthetic, 200)
    assert page[7][4] == float(synthetic.bars[7].close)


def test_hole_and_rate429_next_parse_and_bad_values_are_refused() -> None:
    spec = FaultSpec.parse("hole=100-200,hole=300-400,rate429_next=3")
    assert spec.holes == [(100, 200), (300, 400)] and spec.rate429_next == 3
    assert spec.in_hole(100) and not spec.in_hole(200) and spec.in_hole(399)
    with pytest.raises(ValidationError, match="fault 'hole' has a bad value"):
        FaultSpec.parse("hole=soon")
    assert parse_args(["--history-bars", "1500"]).history_bars == 1500
