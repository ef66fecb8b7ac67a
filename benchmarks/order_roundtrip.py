"""Order round-trip latency through the real ccxt ``binance`` class to the simulator.

Starts the loopback simulator in-process, then times (a) raw ccxt calls (create limit,
cancel, fetch order by client id, market order) and (b) the station's full path
(OrderManager -> CcxtVenue -> ccxt -> HTTP -> simulator -> reports -> SQLite store).

    .venv/bin/python benchmarks/order_roundtrip.py [N]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async

from task_station.domain.clock import SystemClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.orders import OrderSide, OrderType
from task_station.engine.bus import EventBus
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.persistence import Database, sqlite_url
from task_station.venues.ccxt_cex.venue import CcxtVenue
from task_station.venues.simulator.ccxt_setup import point_ccxt_at
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer, load_data

KEY, SECRET = "bench-key", "bench-secret"


def bars(path: Path | None, seed: int) -> tuple[list[Any], str]:
    frame = generate_frame(SyntheticMarketSpec(seed=seed, bars=500))
    return frame_to_candles(frame), infer_timeframe(frame)


async def timed(n: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await call(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def row(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"{name:<44}{len(ms):>6}{statistics.median(ms):>9.2f}{q[94]:>9.2f}{q[98]:>9.2f}"


async def main(n: int) -> None:
    balances = {"USDT": Decimal("100000000"), "BTC": Decimal("10000")}
    config = SimulatorConfig(
        port=0, api_key=KEY, api_secret=SECRET, bars_per_second=0, balances=balances
    )
    sim = SimulatorServer(load_data(config, bars), config)
    await sim.start()
    ex = ccxt_async.binance({"apiKey": KEY, "secret": SECRET})
    point_ccxt_at(ex, sim.url)
    rows = []
    try:
        await ex.load_markets()
        price = float((await ex.fetch_ticker("BTC/USDT"))["last"]) * 0.5
        ids: list[str] = []

        async def create(i: int) -> None:
            o = await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.01, price, {"clientOrderId": f"b{i}"}
            )
            ids.append(o["id"])

        rows.append(row("ccxt create_order (limit, resting)", await timed(n, create)))
        rows.append(
            row(
                "ccxt fetch_order by client id",
                await timed(
                    n, lambda i: ex.fetch_order(None, "BTC/USDT", {"clientOrderId": f"b{i}"})
                ),
            )
        )
        rows.append(
            row("ccxt cancel_order", await timed(n, lambda i: ex.cancel_order(ids[i], "BTC/USDT")))
        )
        rows.append(
            row(
                "ccxt create_order (market, filled)",
                await timed(n, lambda i: ex.create_order("BTC/USDT", "market", "buy", 0.001)),
            )
        )
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(sqlite_url(Path(tmp) / "bench.db"))
            db.upgrade()
            venue = CcxtVenue(ex, SystemClock())
            om = OrderManager(
                venue=venue,
                store=db.orders,
                portfolio=Portfolio("b", "USDT", dict(balances)),
                bus=EventBus(),
                clock=SystemClock(),
                portfolio_store=db.portfolio,
            )
            cmd = SubmitOrder(
                "BTC/USDT", OrderSide.BUY, OrderType.MARKET, quantity=Decimal("0.001")
            )
            rows.append(
                row(
                    "station submit (market, fill recorded in SQLite)",
                    await timed(n, lambda i: om.submit(cmd)),
                )
            )
            db.dispose()
    finally:
        await ex.close()
        await sim.stop()
    print(f"{'round trip over loopback (ms)':<44}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}")
    for r in rows:
        print(r)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
