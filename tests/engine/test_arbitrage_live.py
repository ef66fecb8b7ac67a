"""CEX↔DEX arbitrage end to end: the exchange simulator (real ccxt over loopback HTTP)
against Uniswap V2 on a local EVM (real contracts, real JSON-RPC; the pool followed by
the live feed from its Sync/Swap logs), with a gap injected by someone else's swap. The bot captures it, its P&L (gas included) reconciles with
both venues' balances, and the same bot then backtests on what it recorded and
paper-trades the live markets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import ccxt.async_support as ccxt_async
import pytest

from task_station.backtest.arbitrage import run_arbitrage_backtest
from task_station.domain.arbitrage import ArbOutcome, LegPolicy, VenueKind
from task_station.domain.clock import SystemClock
from task_station.domain.dex import PoolState
from task_station.domain.events import OrderFilled
from task_station.domain.orders import OrderSide
from task_station.engine.arbitrage import ArbitrageRuntime, ExecutionConfig, arb_venue
from task_station.engine.bus import EventBus
from task_station.engine.market_watch import SnapshotAssembler
from task_station.marketdata.arb_recording import SnapshotRecorder, load_snapshots
from task_station.marketdata.candle_files import frame_to_candles
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.strategies.arbitrage.cex_dex import CexDexArbitrage
from task_station.venues.amm.paper import PaperGas
from task_station.venues.ccxt_cex import CcxtVenue
from task_station.venues.dex.client import UniswapV2Client, http_web3
from task_station.venues.dex.pool_feed import PoolFeed
from task_station.venues.dex.venue import DexMarket, UniswapV2Venue
from task_station.venues.dex.wallet import Wallet
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.simulator.ccxt_setup import point_ccxt_at
from task_station.venues.simulator.market import market_data
from task_station.venues.simulator.server import SimulatorConfig, SimulatorServer
from tests.support.uniswap import E18, UniswapWorld, uniswap_world

D = Decimal
KEY, SECRET = "arb-key", "arb-secret"
TRADER, RIVAL = 3, 6
CEX_START = {"USDT": D(100_000), "ETH": D(20)}
TAKER_FEE = D("0.001")


@dataclass
class Stage:
    sim: SimulatorServer
    world: UniswapWorld
    cex: CcxtVenue
    dex: UniswapV2Venue
    mid: Decimal


@pytest.fixture
async def stage() -> AsyncIterator[Stage]:
    frame = generate_frame(
        SyntheticMarketSpec(seed=11, bars=200, start_price=2000.0, timeframe="1m")
    )
    sim = SimulatorServer(
        market_data(frame_to_candles(frame), "1m", "ETH/USDT"),
        SimulatorConfig(
            port=0,
            api_key=KEY,
            api_secret=SECRET,
            bars_per_second=0,
            balances=dict(CEX_START),
            matching=MatchingConfig(taker_fee=TAKER_FEE),
        ),
    )
    await sim.start()
    bids, asks = sim.exchange.market.book
    mid = (bids[0][0] + asks[0][0]) / 2
    # The pool starts at the exchange's price: no edge until someone moves it.
    world = await uniswap_world(weth_liquidity=500 * E18, usd_liquidity=int(mid * 500 * E18))
    me = world.chain.address(TRADER)
    world.fund(me, weth=10 * E18, usd=40_000 * E18)
    ex = ccxt_async.binance({"apiKey": KEY, "secret": SECRET, "timeout": 3000})
    point_ccxt_at(ex, sim.url)
    cex = CcxtVenue(ex, SystemClock(), name="cex", secrets=(KEY, SECRET), poll_interval=0.05)
    await cex.load_markets()
    dex = UniswapV2Venue(
        UniswapV2Client(http_web3(world.chain.url), world.dex),
        Wallet.from_key(world.chain.private_key(TRADER)),
        [DexMarket("WETH/USD", world.weth.address, world.usd.address)],
        SystemClock(),
        name="dex",
        receipt_poll_seconds=0.02,
    )
    await dex.connect()
    try:
        yield Stage(sim, world, cex, dex, mid)
    finally:
        await dex.close()
        await cex.close()
        await world.chain.stop()
        await sim.stop()


def strategy(policy: LegPolicy = LegPolicy.UNWIND) -> CexDexArbitrage:
    return CexDexArbitrage(
        {
            "cex_venue": "cex",
            "dex_venue": "dex",
            "symbol": "ETH/USDT",
            "dex_symbol": "WETH/USD",
            "max_base": "3",
            "min_profit": "5",
            "cex_taker_fee_bps": "10",
            "gas_units": 250_000,
            "leg_policy": policy.value,
        }
    )


async def pool_states(stage: Stage) -> AsyncIterator[PoolState]:
    """The pool as the live feed sees it: from its Sync and Swap logs, block by block."""
    feed = PoolFeed.over_http(
        stage.world.chain.url,
        stage.world.dex,
        [stage.dex.pair_address("WETH/USD")],
        transport="poll",
        poll_interval=0.02,
    )
    async with feed:
        async for update in feed:
            yield update.pool


def assembler(stage: Stage) -> SnapshotAssembler:
    watch = SnapshotAssembler(SystemClock())
    watch.add_book("cex", "ETH/USDT", stage.cex.watch_order_book("ETH/USDT", 20))
    base, quote = stage.dex.tokens("WETH/USD")
    watch.add_pool("dex", "WETH/USD", pool_states(stage), base, quote)
    return watch


def rival_dumps_weth(world: UniswapWorld, amount: int) -> None:
    """Someone sells WETH into the pool: the DEX price drops below the exchange's."""
    rival = world.chain.address(RIVAL)
    world.fund(rival, weth=amount)
    world.swap_exact_in(rival, world.weth, world.usd, amount)


async def wait_for(predicate: object, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        if loop.time() > end:
            raise AssertionError("timed out waiting for the arbitrage")
        await asyncio.sleep(0.05)


async def test_the_bot_captures_an_injected_gap_and_its_pnl_reconciles_with_both_venues(
    stage: Stage, tmp_path: Path
) -> None:
    cex_before = await stage.cex.fetch_balances()
    dex_before = await stage.dex.fetch_balances()
    bus = EventBus()
    clock = SystemClock()
    venues = [
        arb_venue(stage.cex, kind=VenueKind.CEX, bus=bus, clock=clock, balances=cex_before),
        arb_venue(stage.dex, kind=VenueKind.DEX, bus=bus, clock=clock, balances=dex_before),
    ]
    watch = assembler(stage)
    recording = tmp_path / "live.jsonl.gz"
    runtime = ArbitrageRuntime(
        strategy=strategy(),
        venues=venues,
        snapshots=SnapshotRecorder(watch, recording),
        bus=bus,
        clock=clock,
        config=ExecutionConfig(leg_timeout_s=10, venue_timeouts={"dex": 30}),
    )
    task = asyncio.create_task(runtime.run())
    try:
        await wait_for(lambda: runtime.snapshots_seen >= 3)
        assert runtime.trades == []  # aligned prices: fees and gas eat any edge
        rival_dumps_weth(stage.world, 12 * E18)
        await wait_for(lambda: len(runtime.trades) >= 1)
        await asyncio.sleep(0.3)  # let a second look at the closed gap happen
    finally:
        watch.close()
        await asyncio.wait_for(task, 10)
    await stage.dex.wait_settled()

    trade = runtime.trades[0]
    assert trade.outcome is ArbOutcome.COMPLETED, trade.note
    cex_leg, dex_leg = trade.executions[0], trade.executions[1]
    assert (cex_leg.venue, cex_leg.side) == ("cex", OrderSide.SELL)  # sell where it is dear
    assert (dex_leg.venue, dex_leg.side) == ("dex", OrderSide.BUY)  # buy where it is cheap
    assert cex_leg.filled == dex_leg.filled > 0
    assert trade.realized_pnl > 0
    assert trade.gas > 0

    # Reconcile with what the venues themselves say now.
    cex_after = await stage.cex.fetch_balances()
    dex_after = await stage.dex.fetch_balances()
    d_usdt = cex_after["USDT"] - cex_before["USDT"]
    d_eth_cex = cex_after.get("ETH", D(0)) - cex_before["ETH"]
    d_usd = dex_after["USD"] - dex_before["USD"]
    d_weth = dex_after["WETH"] - dex_before["WETH"]
    d_gas_eth = dex_after["ETH"] - dex_before["ETH"]
    assert d_eth_cex + d_weth == 0  # flat: the base bought equals the base sold
    assert -d_gas_eth == stage.dex.gas_spent_native  # the only ETH that moved paid for gas
    # The DEX fill charged its gas (approval included) in USD at the fill's own price.
    dex_price = dex_leg.average_price
    assert dex_price is not None
    assert abs(dex_leg.fee - stage.dex.gas_spent_native * dex_price) < D("1e-15")
    by_balances = d_usdt + d_usd + d_gas_eth * dex_price
    # Binance (and so the simulator) reports balances to 8 decimals, the chain to the wei,
    # and the DEX fill price is a 28-digit quotient: one unit of the 8th decimal at most.
    assert abs(by_balances - runtime.total_pnl) < D("2e-8")
    # Every CEX order the runtime filled is an order the simulator filled, and no other.
    assert len({t.order_id for t in stage.sim.exchange.trades}) == sum(
        1 for t in runtime.trades for e in t.executions if e.venue == "cex" and e.filled
    )

    # The same bot on what it recorded: the gap is found at the same place.
    snapshots = load_snapshots(recording)
    assert len(snapshots) == runtime.snapshots_seen
    result = await run_arbitrage_backtest(
        strategy(),
        snapshots,
        {"cex": cex_before, "dex": {"WETH": dex_before["WETH"], "USD": dex_before["USD"]}},
        fees={"cex": TAKER_FEE},
        gas=PaperGas(gas_per_swap=250_000, gas_price_wei=10**9),
    )
    assert result.trades, "the backtest missed the recorded gap"
    replayed = result.trades[0]
    assert [(e.venue, e.side) for e in replayed.executions[:2]] == [
        ("cex", OrderSide.SELL),
        ("dex", OrderSide.BUY),
    ]
    assert replayed.executions[0].filled == cex_leg.filled
    assert replayed.realized_pnl > 0


async def test_the_same_bot_paper_trades_the_live_markets_without_touching_them(
    stage: Stage,
) -> None:
    cex_before = await stage.cex.fetch_balances()
    dex_before = await stage.dex.fetch_balances()
    watch = assembler(stage)
    paper = asyncio.create_task(
        run_arbitrage_backtest(
            strategy(),
            watch,
            {"cex": {"USDT": D(50_000), "ETH": D(5)}, "dex": {"WETH": D(5), "USD": D(20_000)}},
            fees={"cex": TAKER_FEE},
        )
    )
    try:
        await asyncio.sleep(0.5)
        rival_dumps_weth(stage.world, 12 * E18)
        await asyncio.sleep(1.5)
    finally:
        watch.close()
        result = await asyncio.wait_for(paper, 10)
    assert result.trades and result.trades[0].outcome is ArbOutcome.COMPLETED
    assert result.total_pnl > 0
    # Paper trading: the real accounts did not move, no order reached the exchange.
    assert await stage.cex.fetch_balances() == cex_before
    assert await stage.dex.fetch_balances() == dex_before
    assert stage.sim.exchange.trades == []


async def test_when_the_dex_leg_reverts_after_the_cex_leg_filled_the_policy_unwinds(
    stage: Stage,
) -> None:
    cex_before = await stage.cex.fetch_balances()
    dex_before = await stage.dex.fetch_balances()
    bus = EventBus()
    clock = SystemClock()
    venues = [
        arb_venue(stage.cex, kind=VenueKind.CEX, bus=bus, clock=clock, balances=cex_before),
        arb_venue(stage.dex, kind=VenueKind.DEX, bus=bus, clock=clock, balances=dex_before),
    ]
    world = stage.world

    rival = world.chain.address(RIVAL + 1)
    world.fund(rival, usd=400_000 * E18)
    world.transact(
        world.contract("erc20", world.usd.address).functions.approve(
            world.deployment.router, 400_000 * E18
        ),
        rival,
    )
    raced: list[str] = []

    def front_run(event: OrderFilled) -> None:
        """The CEX leg just filled: a rival's big WETH buy enters the mempool ahead of
        our swap, so our swap's price limit fails when the block is mined."""
        if event.order.venue != "cex" or raced:
            return
        world.chain.hold_transactions()
        tx = world.chain.run_sync(
            lambda: (
                world.contract("router", world.deployment.router)
                .functions.swapExactTokensForTokens(
                    400_000 * E18, 0, [world.usd.address, world.weth.address], rival, 2**40
                )
                .build_transaction(
                    {
                        "from": rival,
                        "gas": 300_000,
                        "maxFeePerGas": 10**11,
                        "maxPriorityFeePerGas": 10**9,
                        "nonce": world.chain.w3.eth.get_transaction_count(rival),
                    }
                )
            )
        )
        raced.append(
            world.chain.submit_raw(Wallet.from_key(world.chain.private_key(RIVAL + 1)).sign(tx))
        )

    async def miner() -> None:
        """Mine once our swap has joined the rival's in the mempool."""
        while not raced or world.chain.held < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # our approval and swap may both be queued
        world.chain.release()

    bus.subscribe(OrderFilled, front_run)
    mining = asyncio.create_task(miner())
    watch = assembler(stage)
    runtime = ArbitrageRuntime(
        strategy=strategy(LegPolicy.UNWIND),
        venues=venues,
        snapshots=watch,
        bus=bus,
        clock=clock,
        config=ExecutionConfig(leg_timeout_s=10, venue_timeouts={"dex": 30}),
    )
    task = asyncio.create_task(runtime.run())
    try:
        await wait_for(lambda: runtime.snapshots_seen >= 2)
        rival_dumps_weth(world, 12 * E18)
        await wait_for(lambda: len(runtime.trades) >= 1)
    finally:
        watch.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)
    await asyncio.wait_for(mining, 10)
    await stage.dex.wait_settled()
    trade = runtime.trades[0]
    assert trade.outcome is ArbOutcome.UNWOUND, trade.note
    roles = [(e.role.value, e.venue, e.side, e.status) for e in trade.executions]
    assert roles[0][:3] == ("planned", "cex", OrderSide.SELL)
    assert roles[1][:2] == ("planned", "dex") and trade.executions[1].filled == 0
    assert "reverted on chain: UniswapV2Router: EXCESSIVE_INPUT_AMOUNT" in (
        trade.executions[1].reason or ""
    )
    assert roles[2][:3] == ("unwind", "cex", OrderSide.BUY)
    cex_after = await stage.cex.fetch_balances()
    assert cex_after["ETH"] == cex_before["ETH"]  # flat again on the exchange
    dex_after = await stage.dex.fetch_balances()
    assert dex_after["WETH"] == dex_before["WETH"] and dex_after["USD"] == dex_before["USD"]
    assert dex_after["ETH"] < dex_before["ETH"]  # the reverted swap still paid its gas
