"""No duplicate, none lost, every fill recorded — with the network misbehaving.

The real ccxt ``binance`` class, our ``CcxtVenue`` and order manager, and a SQLite store
trade against the loopback simulator while it injects latency, 429s, 5xx errors and
timeouts after an order was accepted (the unknown-outcome case), dropped websockets
(a ccxt.pro ticker watcher runs alongside and must reconnect) and duplicated venue
reports (a seeded relay delivers some acknowledgements and fills twice). The bot keeps placing
orders until 500 of them were acknowledged; reconciliation settles every unknown outcome
once the faults stop. Then the simulator's books and ours must agree one-to-one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from task_station.domain.clock import SystemClock
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import VenueError
from task_station.domain.orders import OrderSide, OrderStatus, OrderType
from task_station.engine.bus import EventBus
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.persistence import Database, sqlite_url
from task_station.venues.base import VenueReport
from task_station.venues.ccxt_cex.retry import RetryPolicy
from task_station.venues.ccxt_cex.venue import CcxtVenue
from task_station.venues.simulator.ccxt_setup import point_ccxt_at
from task_station.venues.simulator.market import MarketData
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer

KEY, SECRET = "fault-key", "fault-secret"
FAULTS = (
    "latency=1ms,rate429=0.01,err5xx=0.03,timeout_after_accept=0.03,"
    "drop_ws=0.05,dup_ack=0.02,seed=11"
)
TARGET = 500


@pytest.fixture
async def faulty(synthetic: MarketData) -> AsyncIterator[SimulatorServer]:
    sim = SimulatorServer(
        synthetic,
        SimulatorConfig(
            port=0, seed=11, api_key=KEY, api_secret=SECRET, bars_per_second=0,
            balances={"USDT": Decimal("10000000"), "BTC": Decimal("1000")},
        ),
    )  # fmt: skip
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def test_500_orders_under_faults_match_the_simulator_exactly(
    faulty: SimulatorServer, tmp_path: Path
) -> None:
    db = Database(sqlite_url(tmp_path / "station.db"))
    db.upgrade()
    ex = ccxt_async.binance({"apiKey": KEY, "secret": SECRET, "timeout": 3000})
    point_ccxt_at(ex, faulty.url)
    venue = CcxtVenue(ex, SystemClock(), secrets=(KEY, SECRET), retry=RetryPolicy(6, 0.01, 1.5))
    try:
        await venue.load_markets()
        book = Portfolio("bot", "USDT", {"USDT": Decimal("10000000"), "BTC": Decimal("1000")})
        om = OrderManager(
            venue=venue, store=db.orders, portfolio=book, bus=EventBus(), clock=SystemClock(),
            portfolio_store=db.portfolio,
        )  # fmt: skip
        relay = DuplicatingRelay(om, random.Random(11), 0.05)
        venue.set_listener(relay)
        mid = Decimal(str((await ex.fetch_ticker("BTC/USDT"))["last"]))
        watcher = TickerWatcher(faulty.url)
        watch_task = asyncio.create_task(watcher.run())
        faulty.set_faults(FAULTS)
        unknown = 0
        n = 0
        while len(db.orders.list(limit=100_000)) - _refused(db) < TARGET:
            n += 1
            try:
                await om.submit(_command(n, mid))
            except VenueError:
                unknown += 1  # outcome unknown and the venue unreachable: left to reconciliation
            if n % 25 == 0:
                faulty.step()  # the market moves: resting limits may fill, tickers stream
        faulty.set_faults("")
        watch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch_task
        await watcher.close()
        assert relay.duplicated > 10  # duplicate acknowledgements and fills really happened
        assert watcher.drops > 0 and watcher.tickers > 0  # the stream dropped and came back
        settled = await om.reconcile()
        assert (await om.reconcile()).changed is False  # a second pass finds nothing

        local = {o.client_order_id: o for o in db.orders.list(limit=100_000)}
        on_venue = set(faulty.exchange.order_ids)
        accepted = {
            cid
            for cid, o in local.items()
            if o.status not in (OrderStatus.REJECTED, OrderStatus.DENIED)
        }
        assert len(accepted) >= TARGET
        assert accepted == on_venue  # none lost, none invented, none twice (ids are unique keys)
        assert len(faulty.exchange.order_ids) == len(set(faulty.exchange.cids.values()))
        venue_fills = {str(t.trade_id) for t in faulty.exchange.trades}
        local_fills = {f.trade_id for f in db.orders.list_fills(limit=100_000)}
        assert venue_fills == local_fills and venue_fills
        assert not any(
            o.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED) for o in local.values()
        )
        # the faults really happened
        assert unknown + len(settled.status_changes) + len(_rejected_for_faults(db)) > 0
    finally:
        await ex.close()
        db.dispose()


class DuplicatingRelay:
    """Forwards every venue report to the order manager, some of them twice (seeded)."""

    def __init__(self, target: OrderManager, rng: random.Random, probability: float) -> None:
        self._target, self._rng, self._p = target, rng, probability
        self.duplicated = 0

    def on_venue_report(self, report: VenueReport) -> None:
        self._target.on_venue_report(report)
        if self._rng.random() < self._p:
            self.duplicated += 1
            self._target.on_venue_report(report)


class TickerWatcher:
    """A ccxt.pro ticker stream that reconnects whenever the simulator drops it."""

    def __init__(self, url: str) -> None:
        self._ex = ccxt_pro.binance({"apiKey": KEY, "secret": SECRET, "timeout": 3000})
        point_ccxt_at(self._ex, url)
        self.drops = 0
        self.tickers = 0

    async def run(self) -> None:
        await self._ex.load_markets()
        while True:
            try:
                await self._ex.watch_ticker("BTC/USDT")
                self.tickers += 1
            except ccxt_async.NetworkError:
                self.drops += 1
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        await self._ex.close()


def _command(n: int, mid: Decimal) -> SubmitOrder:
    """A mix: small market buys and sells (fills) and limits near the price (rest or fill)."""
    kind = n % 4
    if kind == 0:
        return SubmitOrder("BTC/USDT", OrderSide.BUY, OrderType.MARKET, quantity=Decimal("0.01"))
    if kind == 1:
        return SubmitOrder("BTC/USDT", OrderSide.SELL, OrderType.MARKET, quantity=Decimal("0.01"))
    side = OrderSide.BUY if kind == 2 else OrderSide.SELL
    offset = Decimal("0.995") if side is OrderSide.BUY else Decimal("1.005")
    price = (mid * offset).quantize(Decimal("0.01"))
    return SubmitOrder("BTC/USDT", side, OrderType.LIMIT, quantity=Decimal("0.01"), price=price)


def _refused(db: Database) -> int:
    return len(db.orders.list(statuses=[OrderStatus.REJECTED, OrderStatus.DENIED], limit=100_000))


def _rejected_for_faults(db: Database) -> list[str]:
    return [
        o.client_order_id for o in db.orders.list(statuses=[OrderStatus.REJECTED], limit=100_000)
    ]
