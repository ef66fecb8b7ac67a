"""The arbitrage runtime on real paper venues: a gap is captured and its P&L is the
change of the accounts; each leg-risk policy does what it says when a leg fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from task_station.domain.arbitrage import (
    ArbOutcome,
    ArbTradeResult,
    LegRole,
    MarketSnapshot,
    OrderBook,
    PoolMarket,
    VenueKind,
)
from task_station.domain.bots import BotStatus
from task_station.domain.clock import ManualClock
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import ConfigurationError, VenueError
from task_station.domain.events import ArbitrageAlert, ArbitrageTradeCompleted, OrderFilled
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Order
from task_station.engine.arbitrage import ArbitrageRuntime, ArbVenue, ExecutionConfig, arb_venue
from task_station.engine.bus import EventBus
from task_station.strategies.arbitrage.base import ArbitrageContext
from task_station.strategies.arbitrage.cex_dex import CexDexArbitrage
from task_station.strategies.arbitrage.cross_cex import CrossCexArbitrage
from task_station.strategies.arbitrage.triangular import TriangularArbitrage
from task_station.venues.amm.paper import PaperAmmVenue, PaperGas, PaperPool
from task_station.venues.base import Venue, VenueListener
from task_station.venues.matching.account_venue import PaperAccountVenue
from task_station.venues.matching.paper_venue import MatchingPaperVenue

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
WETH = Token("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "WETH", 18)
USDC = Token("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 6)
BIDS = [(D("1999.5"), D("1")), (D("1999"), D("2")), (D("1998.5"), D("3"))]
ASKS = [(D("2000.5"), D("1")), (D("2001"), D("2")), (D("2001.5"), D("3"))]
MARK = D("2000")
#: P&L is exact up to the paper AMM's fill price, a 28-digit quotient.
TOLERANCE = D("1e-15")


def reserves(price: str, eth: int = 2000) -> tuple[int, int]:
    """``(reserve0 = USDC, reserve1 = WETH)`` for a pool at ``price``."""
    return int(D(eth) * D(price) * 10**6), eth * 10**18


def cex_venue(name: str, clock: ManualClock, usdc: str, eth: str) -> MatchingPaperVenue:
    venue = MatchingPaperVenue(
        Instrument.from_symbol("ETH/USDC", venue=name),
        {"USDC": D(usdc), "ETH": D(eth)},
        clock,
        taker_fee=D("0.001"),
        name=name,
    )
    venue.set_book(BIDS, ASKS)
    return venue


class Unreachable:
    """A venue whose network is down: every call raises."""

    def __init__(self, inner: PaperAmmVenue) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities

    def set_listener(self, listener: VenueListener) -> None:
        self.inner.set_listener(listener)

    def instrument(self, symbol: str) -> Instrument:
        return self.inner.instrument(symbol)

    async def submit_order(self, order: Order) -> None:
        raise VenueError("connection reset by peer")

    async def cancel_order(self, order: Order) -> None:
        raise VenueError("connection reset by peer")

    async def fetch_balances(self) -> dict[str, Decimal]:
        return await self.inner.fetch_balances()


class Rig:
    """A CEX book at 2000, a WETH/USDC pool at ``pool_price`` and the runtime over them."""

    def __init__(
        self,
        pool_price: str,
        *,
        policy: str = "unwind",
        first_leg: str = "cex",
        cex_eth: str = "10",
        book_eth: str | None = None,
        config: ExecutionConfig | None = None,
        hedge_venue: bool = False,
        dex_down: bool = False,
    ) -> None:
        self.clock = ManualClock(T0)
        self.bus = EventBus()
        self.cex = cex_venue("cex", self.clock, "100000", cex_eth)
        r0, r1 = reserves(pool_price)
        pool = PoolState("0x" + "44" * 20, USDC, WETH, r0, r1)
        self.dex = PaperAmmVenue(
            [PaperPool("WETH/USDC", WETH, USDC, pool)],
            {"USDC": D("100000"), "WETH": D("10")},
            self.clock,
            name="dex",
            gas=PaperGas(100_000, 10 * 10**9),
            slippage_bps=50,
        )
        dex: Venue = Unreachable(self.dex) if dex_down else self.dex
        self.alerts: list[ArbitrageAlert] = []
        self.completed: list[ArbitrageTradeCompleted] = []
        self.bus.subscribe(ArbitrageAlert, self.alerts.append)
        self.bus.subscribe(ArbitrageTradeCompleted, self.completed.append)
        eth_book = D(book_eth if book_eth is not None else cex_eth)
        venues = [
            arb_venue(
                self.cex,
                kind=VenueKind.CEX,
                bus=self.bus,
                clock=self.clock,
                balances={"USDC": D("100000"), "ETH": eth_book},
            ),
            arb_venue(
                dex,
                kind=VenueKind.DEX,
                bus=self.bus,
                clock=self.clock,
                balances={"USDC": D("100000"), "WETH": D("10")},
            ),
        ]
        self.alt: MatchingPaperVenue | None = None
        if hedge_venue:
            self.alt = cex_venue("cex-b", self.clock, "100000", "10")
            venues.append(
                arb_venue(
                    self.alt,
                    kind=VenueKind.CEX,
                    bus=self.bus,
                    clock=self.clock,
                    balances={"USDC": D("100000"), "ETH": D("10")},
                )
            )
        self.strategy = CexDexArbitrage(
            {
                "symbol": "ETH/USDC",
                "dex_symbol": "WETH/USDC",
                "max_base": "2",
                "min_profit": "1",
                "gas_units": 100_000,
                "slippage_bps": "10",
                "cex_taker_fee_bps": "10",
                "leg_policy": policy,
                "first_leg": first_leg,
            }
        )
        self.runtime = ArbitrageRuntime(
            strategy=self.strategy,
            venues=venues,
            snapshots=self.stream(3),
            bus=self.bus,
            clock=self.clock,
            config=config,
        )

    def snapshot(self) -> MarketSnapshot:
        return MarketSnapshot(
            self.clock.now(),
            books={("cex", "ETH/USDC"): OrderBook.of(BIDS, ASKS)},
            pools={("dex", "WETH/USDC"): PoolMarket(self.dex.pool("WETH/USDC"), WETH, USDC)},
            native_price=MARK,
            gas_price_wei=10 * 10**9,
        )

    async def stream(self, n: int) -> AsyncIterator[MarketSnapshot]:
        for _ in range(n):
            self.cex.set_book(BIDS, ASKS)
            yield self.snapshot()

    async def step(self) -> ArbTradeResult | None:
        self.cex.set_book(BIDS, ASKS)  # our own fills took liquidity; the market refills
        return await self.runtime.on_snapshot(self.snapshot())

    async def value(self) -> Decimal:
        """Every account valued in USDC, ETH and WETH at the mark."""
        total = D(0)
        for venue in (self.cex, self.dex, self.alt):
            if venue is None:
                continue
            for asset, amount in (await venue.fetch_balances()).items():
                total += amount * (D(1) if asset == "USDC" else MARK)
        return total

    def break_dex_after_cex_fill(self, price: str) -> None:
        """Move the pool to ``price`` the moment the CEX leg fills (someone else's swap)."""
        done = False

        def move(event: OrderFilled) -> None:
            nonlocal done
            if event.order.venue == "cex" and not done:
                done = True
                self.dex.set_reserves("WETH/USDC", *reserves(price))

        self.bus.subscribe(OrderFilled, move)


async def test_a_gap_is_captured_and_pnl_is_the_change_of_the_accounts() -> None:
    rig = Rig("2030")
    before = await rig.value()
    result = await rig.step()
    assert result is not None
    assert result.outcome is ArbOutcome.COMPLETED
    cex, dex = result.executions
    assert (cex.venue, cex.side.value, cex.filled) == ("cex", "buy", D("2"))
    assert (dex.venue, dex.side.value, dex.filled) == ("dex", "sell", D("2"))
    assert dex.gas and dex.fee > 0 and not cex.gas
    pnl = result.realized_pnl
    assert pnl > 0 and result.gas == dex.fee
    assert abs((await rig.value()) - before - pnl) <= TOLERANCE
    assert rig.runtime.total_pnl == pnl
    assert (await rig.cex.fetch_balances())["ETH"] == D("12")
    assert (await rig.dex.fetch_balances())["WETH"] == D("8")
    assert rig.dex.pool("WETH/USDC").mid_price(WETH) < D("2030")  # the pool moved back
    assert [e.outcome for e in rig.completed] == ["completed"]
    assert not rig.alerts and not rig.runtime.paused


async def test_no_gap_no_trade() -> None:
    rig = Rig("2001")
    assert await rig.step() is None
    assert rig.runtime.trades == []


async def test_unwind_reverses_the_filled_leg_when_the_pool_moved_away() -> None:
    rig = Rig("2030", policy="unwind")
    rig.break_dex_after_cex_fill("2000")
    before = await rig.value()
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.UNWOUND
    roles = [(e.role, e.venue, e.status) for e in result.executions]
    assert roles == [
        (LegRole.PLANNED, "cex", "filled"),
        (LegRole.PLANNED, "dex", "rejected"),
        (LegRole.UNWIND, "cex", "filled"),
    ]
    assert "INSUFFICIENT_OUTPUT" in (result.executions[1].reason or "")
    assert (await rig.cex.fetch_balances())["ETH"] == D("10")  # flat again
    assert (await rig.dex.fetch_balances())["WETH"] == D("10")
    pnl = result.realized_pnl
    assert pnl < 0  # the spread and two fees
    assert abs((await rig.value()) - before - pnl) <= TOLERANCE
    assert not rig.runtime.paused


async def test_hedge_completes_the_failed_leg_on_the_alternate_venue() -> None:
    config = ExecutionConfig(hedge_venues={"dex": "cex-b"}, hedge_symbols={"WETH/USDC": "ETH/USDC"})
    rig = Rig("2030", policy="hedge", config=config, hedge_venue=True)
    rig.break_dex_after_cex_fill("2000")
    before = await rig.value()
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.HEDGED
    hedge = result.executions[-1]
    assert (hedge.role, hedge.venue, hedge.side.value, hedge.filled) == (
        LegRole.HEDGE,
        "cex-b",
        "sell",
        D("2"),
    )
    assert rig.alt is not None
    assert (await rig.cex.fetch_balances())["ETH"] == D("12")
    assert (await rig.alt.fetch_balances())["ETH"] == D("8")  # net flat across venues
    assert abs((await rig.value()) - before - result.realized_pnl) <= TOLERANCE


async def test_hedge_without_an_alternate_retries_at_market_on_the_same_venue() -> None:
    rig = Rig("2030", policy="hedge")
    rig.break_dex_after_cex_fill("2022")  # beyond the 10 bps limit, within 50 bps slippage
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.HEDGED
    assert result.executions[1].status == "rejected"  # the 10 bps limit could not be met
    hedge = result.executions[-1]
    assert (hedge.role, hedge.venue, hedge.status) == (LegRole.HEDGE, "dex", "filled")
    assert (await rig.dex.fetch_balances())["WETH"] == D("8")


async def test_hold_and_alert_keeps_the_position_alerts_and_pauses() -> None:
    rig = Rig("2030", policy="hold_and_alert")
    rig.break_dex_after_cex_fill("2000")
    before = await rig.value()
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.HELD
    assert (await rig.cex.fetch_balances())["ETH"] == D("12")  # kept
    assert len(rig.alerts) == 1 and rig.alerts[0].paused
    assert "held" in rig.alerts[0].message
    assert rig.runtime.paused
    assert abs((await rig.value()) - before - result.realized_pnl) <= TOLERANCE
    rig.dex.set_reserves("WETH/USDC", *reserves("2030"))  # the gap is back...
    assert await rig.step() is None  # ...but a paused arbitrage makes no plan
    assert len(rig.runtime.trades) == 1
    rig.runtime.resume()
    again = await rig.step()
    assert again is not None and again.outcome is ArbOutcome.COMPLETED


async def test_a_cex_leg_refused_for_funds_is_unwound_on_the_dex() -> None:
    # The book believes 10 ETH are on the CEX; the exchange account holds none.
    rig = Rig("1970", policy="unwind", first_leg="dex", cex_eth="0", book_eth="10")
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.UNWOUND
    dex, cex, unwind = result.executions
    assert (dex.venue, dex.side.value, dex.status) == ("dex", "buy", "filled")
    assert (cex.venue, cex.status) == ("cex", "rejected") and "ETH" in (cex.reason or "")
    assert (unwind.venue, unwind.side.value, unwind.status) == ("dex", "sell", "filled")
    assert (await rig.dex.fetch_balances())["WETH"] == D("10")


async def test_a_partial_fill_is_a_failed_leg_and_unwind_reverses_both_legs() -> None:
    rig = Rig("1970", policy="unwind", first_leg="dex")
    done = False

    def thin_out(event: OrderFilled) -> None:
        nonlocal done
        if event.order.venue == "dex" and not done:
            done = True  # the bids were taken by someone else: half an ETH is left
            rig.cex.set_book([(D("1999.5"), D("0.5"))], ASKS)

    rig.bus.subscribe(OrderFilled, thin_out)
    before = await rig.value()
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.UNWOUND
    _, cex, *unwind = result.executions
    assert (cex.status, cex.filled, cex.requested) == ("canceled", D("0.5"), D("2"))
    assert {(u.venue, u.side.value, u.filled) for u in unwind} == {
        ("dex", "sell", D("2")),
        ("cex", "buy", D("0.5")),
    }
    assert (await rig.cex.fetch_balances())["ETH"] == D("10")
    assert (await rig.dex.fetch_balances())["WETH"] == D("10")
    assert abs((await rig.value()) - before - result.realized_pnl) <= TOLERANCE


async def test_a_failed_hedge_holds_alerts_and_pauses() -> None:
    config = ExecutionConfig(hedge_venues={"dex": "cex-b"}, hedge_symbols={"WETH/USDC": "ETH/USDC"})
    rig = Rig("2030", policy="hedge", config=config, hedge_venue=True)
    assert rig.alt is not None
    rig.alt.engine.ledger.free["ETH"] = D("0")  # nothing to sell on the alternate venue
    rig.break_dex_after_cex_fill("2000")
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.HELD
    assert result.executions[-1].status == "rejected"
    assert rig.runtime.paused and rig.alerts[0].paused
    assert "hedge failed" in rig.alerts[0].message


async def test_parallel_legs_are_both_sent_and_repaired_by_policy() -> None:
    rig = Rig("2030", policy="unwind", first_leg="parallel")
    rig.break_dex_after_cex_fill("2000")
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.UNWOUND
    planned = [e for e in result.executions if e.role is LegRole.PLANNED]
    assert len(planned) == 2
    assert (await rig.cex.fetch_balances())["ETH"] == D("10")


async def test_a_venue_exception_is_a_failed_leg_never_a_crash() -> None:
    fast = ExecutionConfig(leg_timeout_s=0.05, cancel_grace_s=0.05)
    rig = Rig("2030", policy="unwind", config=fast, dex_down=True)
    result = await rig.step()
    assert result is not None and result.outcome is ArbOutcome.UNWOUND
    failed = result.executions[1]
    assert failed.status == "timeout" and "connection reset" in (failed.reason or "")
    assert (await rig.cex.fetch_balances())["ETH"] == D("10")
    first = Rig("1970", policy="unwind", first_leg="dex", config=fast, dex_down=True)
    aborted = await first.step()
    assert aborted is not None and aborted.outcome is ArbOutcome.ABORTED
    assert aborted.realized_pnl == 0 and not first.runtime.paused


class Explodes(CexDexArbitrage):
    name = "explodes"

    def on_market(self, ctx: ArbitrageContext, snapshot: MarketSnapshot) -> None:
        raise ZeroDivisionError("bad strategy")


async def test_a_failing_strategy_pauses_its_arbitrage_not_the_engine() -> None:
    rig = Rig("2030")
    runtime = ArbitrageRuntime(
        strategy=Explodes({}),
        venues=list(rig.runtime.venues.values()),
        snapshots=rig.stream(4),
        bus=rig.bus,
        clock=rig.clock,
        config=ExecutionConfig(max_strategy_failures=2),
    )
    assert await runtime.run() is BotStatus.FINISHED
    assert runtime.paused and runtime.snapshots_seen == 4
    assert len(rig.alerts) == 1 and "ZeroDivisionError" in rig.alerts[0].message


async def test_run_consumes_the_stream_and_publishes_each_trade() -> None:
    rig = Rig("2030")
    assert await rig.runtime.run() is BotStatus.FINISHED
    assert rig.runtime.snapshots_seen == 3
    assert len(rig.completed) == len(rig.runtime.trades) >= 1
    assert rig.runtime.total_pnl == sum(t.realized_pnl for t in rig.runtime.trades)


async def test_missing_or_miskinded_venues_are_a_configuration_error() -> None:
    rig = Rig("2030")
    with pytest.raises(ConfigurationError, match="needs venue"):
        ArbitrageRuntime(
            strategy=rig.strategy,
            venues=[rig.runtime.venues["cex"]],
            snapshots=rig.stream(1),
            bus=rig.bus,
            clock=rig.clock,
        )
    dex = rig.runtime.venues["dex"]
    as_cex = ArbVenue(dex.name, dex.venue, dex.orders, dex.portfolio, VenueKind.CEX)
    with pytest.raises(ConfigurationError, match="as a dex venue"):
        ArbitrageRuntime(
            strategy=rig.strategy,
            venues=[rig.runtime.venues["cex"], as_cex],
            snapshots=rig.stream(1),
            bus=rig.bus,
            clock=rig.clock,
        )


def _value(balances: dict[str, Decimal], marks: dict[str, Decimal]) -> Decimal:
    return sum((amount * marks[asset] for asset, amount in balances.items()), D(0))


async def test_a_triangle_runs_on_one_account_and_reconciles() -> None:
    clock, bus = ManualClock(T0), EventBus()
    symbols = ("BTC/USDT", "ETH/BTC", "ETH/USDT")
    venue = PaperAccountVenue(
        [Instrument.from_symbol(s, venue="x") for s in symbols],
        {"USDT": D("100000")},
        clock,
        taker_fee=D("0.001"),
        name="x",
    )
    books = {
        "BTC/USDT": OrderBook.of([(D("49990"), D("1"))], [(D("50000"), D("1"))]),
        "ETH/BTC": OrderBook.of([(D("0.0499"), D("10"))], [(D("0.05"), D("10"))]),
        "ETH/USDT": OrderBook.of([(D("2550"), D("5"))], [(D("2551"), D("5"))]),
    }
    for symbol, b in books.items():
        venue.set_book(symbol, b.bids.levels, b.asks.levels)
    av = arb_venue(venue, kind=VenueKind.CEX, bus=bus, clock=clock, balances={"USDT": D("100000")})
    strategy = TriangularArbitrage({"venue": "x", "fee_bps": "10", "max_quote": "20000"})

    async def one() -> AsyncIterator[MarketSnapshot]:
        yield MarketSnapshot(T0, books={("x", s): b for s, b in books.items()})

    runtime = ArbitrageRuntime(
        strategy=strategy, venues=[av], snapshots=one(), bus=bus, clock=clock
    )
    before = await venue.fetch_balances()
    await runtime.run()
    (trade,) = runtime.trades
    assert trade.outcome is ArbOutcome.COMPLETED
    marks = {"USDT": D(1), **trade.plan.marks}
    after = await venue.fetch_balances()
    assert after["ETH"] == 0 and after["BTC"] > 0  # only the lot-rounding leftover remains
    assert _value(after, marks) - _value(before, marks) == trade.realized_pnl > 0


async def test_cross_cex_through_the_runtime() -> None:
    clock, bus = ManualClock(T0), EventBus()
    a = cex_venue("a", clock, "100000", "0")
    b = cex_venue("b", clock, "0", "5")
    rich_bids = [(p + 30, s) for p, s in BIDS]
    rich_asks = [(p + 30, s) for p, s in ASKS]
    b.set_book(rich_bids, rich_asks)
    venues: list[ArbVenue] = [
        arb_venue(a, kind=VenueKind.CEX, bus=bus, clock=clock, balances={"USDC": D("100000")}),
        arb_venue(b, kind=VenueKind.CEX, bus=bus, clock=clock, balances={"ETH": D("5")}),
    ]
    strategy = CrossCexArbitrage({"venue_a": "a", "venue_b": "b", "symbol": "ETH/USDC"})
    snapshot = MarketSnapshot(
        T0,
        books={
            ("a", "ETH/USDC"): OrderBook.of(BIDS, ASKS),
            ("b", "ETH/USDC"): OrderBook.of(rich_bids, rich_asks),
        },
    )

    async def one() -> AsyncIterator[MarketSnapshot]:
        yield snapshot

    runtime = ArbitrageRuntime(
        strategy=strategy, venues=venues, snapshots=one(), bus=bus, clock=clock
    )
    await runtime.run()
    (trade,) = runtime.trades
    assert trade.outcome is ArbOutcome.COMPLETED
    usdc = (await a.fetch_balances())["USDC"] + (await b.fetch_balances())["USDC"]
    assert usdc - D("100000") == trade.realized_pnl > 0
