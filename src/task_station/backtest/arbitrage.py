"""Arbitrage backtests: recorded snapshots replayed through the live arbitrage runtime.

Each CEX venue in the recording becomes a ``MatchingPaperVenue`` per symbol sharing one
account, its books replaced by the snapshot's before the strategy looks; each DEX venue
becomes a ``PaperAmmVenue`` whose reserves are set from the snapshot. The strategy, the
runtime, the order managers and the leg-risk policies are the live ones.

A recording does not know our trades: the next snapshot restores the books and
reserves as recorded, so the replay assumes our size was small next to the market.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from task_station.domain.arbitrage import (
    ArbTradeResult,
    MarketSnapshot,
    PoolMarket,
    VenueKind,
)
from task_station.domain.clock import ManualClock
from task_station.domain.errors import ConfigurationError, ValidationError
from task_station.domain.events import ArbitrageAlert
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.engine.arbitrage import ArbitrageRuntime, ArbVenue, ExecutionConfig, arb_venue
from task_station.engine.bus import EventBus
from task_station.strategies.arbitrage.base import ArbitrageStrategy
from task_station.venues.amm.paper import PaperAmmVenue, PaperGas, PaperPool
from task_station.venues.base import (
    Venue,
)
from task_station.venues.matching.account_venue import PaperAccountVenue


@dataclass(frozen=True, slots=True)
class ArbBacktestResult:
    """What a replay did: every trade, the money, and the accounts before and after."""

    strategy: str
    params: dict[str, object]
    snapshots: int
    trades: list[ArbTradeResult]
    total_pnl: Decimal
    fees: Decimal
    gas: Decimal
    initial_balances: dict[str, dict[str, Decimal]]
    final_balances: dict[str, dict[str, Decimal]]
    alerts: list[str] = field(default_factory=list)
    paused: bool = False

    @property
    def trade_count(self) -> int:
        return len(self.trades)

    @property
    def outcomes(self) -> dict[str, int]:
        return dict(Counter(t.outcome.value for t in self.trades))

    def balance_changes(self) -> dict[str, dict[str, Decimal]]:
        """Final minus initial balance per venue and asset."""
        out: dict[str, dict[str, Decimal]] = {}
        for venue in sorted(self.initial_balances.keys() | self.final_balances.keys()):
            before = self.initial_balances.get(venue, {})
            after = self.final_balances.get(venue, {})
            out[venue] = {
                a: after.get(a, ZERO) - before.get(a, ZERO)
                for a in sorted(before.keys() | after.keys())
            }
        return out

    def to_json(self) -> dict[str, object]:
        def money(book: Mapping[str, Mapping[str, Decimal]]) -> dict[str, dict[str, str]]:
            return {v: {a: str(x) for a, x in assets.items()} for v, assets in book.items()}

        return {
            "strategy": self.strategy,
            "params": {k: str(v) if isinstance(v, Decimal) else v for k, v in self.params.items()},
            "snapshots": self.snapshots,
            "trade_count": self.trade_count,
            "outcomes": self.outcomes,
            "total_pnl": str(self.total_pnl),
            "fees": str(self.fees),
            "gas": str(self.gas),
            "initial_balances": money(self.initial_balances),
            "final_balances": money(self.final_balances),
            "paused": self.paused,
            "alerts": self.alerts,
            "trades": [
                {
                    "ts": t.ts.isoformat(),
                    "outcome": t.outcome.value,
                    "reason": t.plan.reason,
                    "expected_net": str(t.plan.expected_net),
                    "realized_pnl": str(t.realized_pnl),
                    "fees": str(t.fees),
                    "gas": str(t.gas),
                }
                for t in self.trades
            ],
        }


class _Replay:
    """The simulated venues of a recording, moved to each snapshot in turn."""

    def __init__(
        self,
        first: MarketSnapshot,
        balances: Mapping[str, Mapping[str, Decimal]],
        fees: Mapping[str, Decimal],
        gas: PaperGas | None,
        dex_slippage_bps: int,
    ) -> None:
        self.clock = ManualClock(first.ts)
        self.native: Decimal | None = first.native_price
        cex_symbols: dict[str, list[str]] = {}
        for venue, symbol in first.books:
            cex_symbols.setdefault(venue, []).append(symbol)
        dex_pools: dict[str, list[tuple[str, PoolMarket]]] = {}
        for (venue, symbol), pm in first.pools.items():
            dex_pools.setdefault(venue, []).append((symbol, pm))
        clash = sorted(cex_symbols.keys() & dex_pools.keys())
        if clash:
            raise ConfigurationError(f"venue(s) {', '.join(clash)} have both books and pools")
        self.cex = {
            # One account per CEX with a book per symbol: a triangular cycle spends
            # what it just bought.
            name: PaperAccountVenue(
                [Instrument.from_symbol(s, venue=name) for s in symbols],
                balances.get(name, {}),
                self.clock,
                taker_fee=fees.get(name, ZERO),
                name=name,
            )
            for name, symbols in cex_symbols.items()
        }
        self.dex = {
            name: PaperAmmVenue(
                [PaperPool(s, pm.base, pm.quote, pm.pool) for s, pm in pools],
                dict(balances.get(name, {})),
                self.clock,
                name=name,
                gas=gas,
                slippage_bps=dex_slippage_bps,
                native_price=lambda: self.native,
            )
            for name, pools in dex_pools.items()
        }

    def kinds(self) -> dict[str, VenueKind]:
        return {
            **{n: VenueKind.CEX for n in self.cex},
            **{n: VenueKind.DEX for n in self.dex},
        }

    def apply(self, snapshot: MarketSnapshot) -> None:
        self.clock.set(snapshot.ts)
        self.native = snapshot.native_price
        for (venue, symbol), book in snapshot.books.items():
            cex = self.cex.get(venue)
            if cex is not None and symbol in cex.books:
                cex.set_book(symbol, book.bids.levels, book.asks.levels)
        for (venue, symbol), pm in snapshot.pools.items():
            dex = self.dex.get(venue)
            if dex is not None:
                dex.set_reserves(symbol, pm.pool.reserve0, pm.pool.reserve1, pm.pool.block)

    async def balances(self) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        for name, cex in self.cex.items():
            out[name] = await cex.fetch_balances()
        for name, dex in self.dex.items():
            out[name] = await dex.fetch_balances()
        return out


async def run_arbitrage_backtest(
    strategy: ArbitrageStrategy,
    snapshots: Iterable[MarketSnapshot] | AsyncIterable[MarketSnapshot],
    balances: Mapping[str, Mapping[str, Decimal]],
    *,
    fees: Mapping[str, Decimal] | None = None,
    gas: PaperGas | None = None,
    dex_slippage_bps: int = 50,
    execution: ExecutionConfig | None = None,
) -> ArbBacktestResult:
    """Replay ``snapshots`` through ``ArbitrageRuntime`` on simulated venues.

    ``balances`` are per venue; ``fees`` are taker fee rates per CEX venue; ``gas`` is
    what each swap costs on every DEX venue (``PaperGas()`` when None).

    Given a live ``AsyncIterable`` (``engine.market_watch.SnapshotAssembler``) instead of
    a recording, this is paper trading: real markets, simulated fills, until the stream
    ends.
    """
    stream = _stream(snapshots)
    first = await anext(stream, None)
    if first is None:
        raise ValidationError("an arbitrage backtest needs at least one snapshot")
    replay = _Replay(first, balances, fees or {}, gas, dex_slippage_bps)
    bus = EventBus()
    alerts: list[str] = []
    bus.subscribe(ArbitrageAlert, lambda e: alerts.append(e.message))
    venues: list[ArbVenue] = []
    for name, kind in replay.kinds().items():
        venue: Venue = replay.cex[name] if name in replay.cex else replay.dex[name]
        venues.append(
            arb_venue(
                venue,
                kind=kind,
                bus=bus,
                clock=replay.clock,
                balances=dict(balances.get(name, {})),
                ids=_counter(name),
            )
        )
    initial = await replay.balances()

    async def feed() -> AsyncIterator[MarketSnapshot]:
        replay.apply(first)
        yield first
        async for snapshot in stream:
            replay.apply(snapshot)
            yield snapshot

    runtime = ArbitrageRuntime(
        strategy=strategy,
        venues=venues,
        snapshots=feed(),
        bus=bus,
        clock=replay.clock,
        config=execution,
    )
    await runtime.run()
    return ArbBacktestResult(
        strategy=strategy.name,
        params=dict(strategy.p),
        snapshots=runtime.snapshots_seen,
        trades=list(runtime.trades),
        total_pnl=runtime.total_pnl,
        fees=runtime.total_fees,
        gas=runtime.total_gas,
        initial_balances=initial,
        final_balances=await replay.balances(),
        alerts=alerts,
        paused=runtime.paused,
    )


def run_arbitrage_backtest_sync(
    strategy: ArbitrageStrategy,
    snapshots: Iterable[MarketSnapshot],
    balances: Mapping[str, Mapping[str, Decimal]],
    *,
    fees: Mapping[str, Decimal] | None = None,
    gas: PaperGas | None = None,
    dex_slippage_bps: int = 50,
    execution: ExecutionConfig | None = None,
) -> ArbBacktestResult:
    return asyncio.run(
        run_arbitrage_backtest(
            strategy,
            snapshots,
            balances,
            fees=fees,
            gas=gas,
            dex_slippage_bps=dex_slippage_bps,
            execution=execution,
        )
    )


async def _stream(
    snapshots: Iterable[MarketSnapshot] | AsyncIterable[MarketSnapshot],
) -> AsyncIterator[MarketSnapshot]:
    if isinstance(snapshots, AsyncIterable):
        async for snapshot in snapshots:
            yield snapshot
        return
    for n, snapshot in enumerate(snapshots, start=1):
        yield snapshot
        if n % 256 == 0:
            await asyncio.sleep(0)  # a long replay lets the loop breathe


def _counter(prefix: str) -> Callable[[], str]:
    """Deterministic client order ids, so two runs of one backtest match line for line."""
    count = itertools.count(1)
    return lambda: f"{prefix}-{next(count)}"
