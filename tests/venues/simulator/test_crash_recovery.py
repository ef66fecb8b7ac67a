"""SIGKILL a trading process mid-flight; the restarted one must agree with the exchange."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.orders import OrderStatus
from task_station.persistence import Database, sqlite_url
from task_station.venues.simulator.market import MarketData
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer

KEY, SECRET = "crash-key", "crash-secret"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def sim(synthetic: MarketData) -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(
        synthetic,
        SimulatorConfig(
            port=0, seed=5, api_key=KEY, api_secret=SECRET, bars_per_second=0,
            faults="latency=3ms", balances={"USDT": Decimal("1000000"), "BTC": Decimal("100")},
        ),
    )  # fmt: skip
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def bot(mode: str, sim: SimulatorServer, db: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.venues.simulator.crash_bot", mode, "--url", sim.url,
        "--db", str(db), "--key", KEY, "--secret", SECRET,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


async def test_killed_bot_reconciles_to_the_simulators_orders_fills_and_balances(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    db_path = tmp_path / "bot.db"
    trader = await bot("trade", sim, db_path)
    assert trader.stdout is not None
    placed = 0
    while placed < 80:  # let it trade, moving the market now and then
        line = (await asyncio.wait_for(trader.stdout.readline(), 60)).decode()
        assert line, (await trader.stderr.read()).decode()[-2000:]  # type: ignore[union-attr]
        placed += line.startswith("placed")
        if placed % 10 == 0:
            sim.step()
    trader.send_signal(signal.SIGKILL)  # mid-flight: it was busy sending the next order
    await trader.wait()
    assert trader.returncode == -signal.SIGKILL
    sim.step(3)  # the exchange keeps matching while the bot is dead

    recover = await bot("recover", sim, db_path)
    out, err = await asyncio.wait_for(recover.communicate(), 120)
    assert recover.returncode == 0, err.decode()[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])

    db = Database(sqlite_url(db_path))
    try:
        local = {o.client_order_id: o for o in db.orders.list(limit=10**6)}
        accepted = {
            c
            for c, o in local.items()
            if o.status not in (OrderStatus.REJECTED, OrderStatus.DENIED)
        }
        assert accepted == set(sim.exchange.order_ids)
        assert not any(
            o.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED) for o in local.values()
        )
        assert {f.trade_id for f in db.orders.list_fills(limit=10**6)} == {
            str(t.trade_id) for t in sim.exchange.trades
        }
        venue_balances = await sim.exchange.venue.fetch_balances()
        assert {a: Decimal(v) for a, v in summary["balances"].items() if Decimal(v)} == {
            a: v for a, v in venue_balances.items() if v
        }
        assert summary["fills_recorded"] > 0  # fills happened while it was down
    finally:
        db.dispose()
