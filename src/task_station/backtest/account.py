"""Account backtests: several bots, each on one or more symbols, sharing one account.

The same engine as a single-bot backtest (``runner.py``), on a ``PaperAccountVenue``
whose ledger every bot draws on, with each bot confined to its allocation by
``SubAccounts``. The result reports every bot's book and the account's own book, which
is built independently from the venue's fill reports: the two must agree to the cent.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from task_station.domain.bots import BotStatus
from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order, OrderStatus
from task_station.engine.account_runtime import AccountBook, AccountRuntime
from task_station.engine.allocation import Allocation, SubAccounts, SymbolSharing
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed, align
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Valuation
from task_station.engine.runtime import BotRuntime, EquityPoint
from task_station.strategies.base import Strategy
from task_station.strategies.catalog import StrategyCatalog
from task_station.venues.matching.account_venue import PaperAccountVenue


@dataclass(frozen=True, slots=True)
class BotSpec:
    """One bot of the account: its strategy, the symbols it trades (primary first) and
    the quote cash the trader allocates to it."""

    bot_id: str
    strategy: str
    params: Mapping[str, object]
    symbols: tuple[str, ...]
    capital: Decimal


@dataclass(frozen=True, slots=True)
class AccountBacktestConfig:
    bots: Sequence[BotSpec]
    series: Mapping[str, Sequence[Candle]]
    timeframe: str
    cash: Decimal
    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    sharing: SymbolSharing = SymbolSharing.SHARED

    def __post_init__(self) -> None:
        if not self.bots:
            raise ValidationError("an account backtest needs at least one bot")
        if self.cash <= ZERO:
            raise ValidationError(f"the account's starting cash must be positive, got {self.cash}")
        ids = [b.bot_id for b in self.bots]
        if len(set(ids)) != len(ids):
            raise ValidationError("every bot of an account backtest needs its own id")
        for bot in self.bots:
            for symbol in bot.symbols:
                if not self.series.get(symbol):
                    raise ValidationError(f"bot {bot.bot_id} trades {symbol}, which has no candles")
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(self, name)
            if fee < ZERO or fee >= 1:
                raise ValidationError(f"{name} must be in [0, 1), got {fee}")

    def instrument(self, symbol: str) -> Instrument:
        return self.instruments.get(symbol) or Instrument.from_symbol(symbol, venue="backtest")


@dataclass(frozen=True, slots=True)
class BotReport:
    bot_id: str
    strategy: str
    capital: Decimal
    status: BotStatus
    error: str | None
    valuation: Valuation
    fills: list[Fill]
    #: The strategy object that ran (its own records: choices, decisions...).
    instance: Strategy | None = field(default=None, repr=False, compare=False)

    @property
    def pnl(self) -> Decimal:
        return self.valuation.equity - self.capital


@dataclass(frozen=True, slots=True)
class AccountBacktestResult:
    config: AccountBacktestConfig
    bots: list[BotReport]
    account: Valuation
    #: What the venue's ledger holds at the end (free plus locked), per asset.
    ledger: dict[str, Decimal]
    equity_curve: list[EquityPoint]
    #: Every order of every bot, oldest first (denied ones included, with the reason).
    orders: list[Order]

    @property
    def denials(self) -> int:
        return sum(1 for o in self.orders if o.status is OrderStatus.DENIED)

    @property
    def account_pnl(self) -> Decimal:
        return self.account.equity - self.config.cash

    def bot(self, bot_id: str) -> BotReport:
        return next(b for b in self.bots if b.bot_id == bot_id)

    def to_json(self) -> dict[str, object]:
        return {
            "cash": str(self.config.cash),
            "account": _valuation_json(self.account) | {"pnl": str(self.account_pnl)},
            "ledger": {a: str(v) for a, v in self.ledger.items()},
            "bots": [
                {
                    **_valuation_json(b.valuation),
                    "bot_id": b.bot_id,
                    "strategy": b.strategy,
                    "capital": str(b.capital),
                    "status": b.status.value,
                    "error": b.error,
                    "pnl": str(b.pnl),
                    "fills": len(b.fills),
                }
                for b in self.bots
            ],
            "denied_orders": self.denials,
        }


def _valuation_json(v: Valuation) -> dict[str, str]:
    return {
        "equity": str(v.equity),
        "cash": str(v.cash),
        "realized_pnl": str(v.realized_pnl),
        "unrealized_pnl": str(v.unrealized_pnl),
        "fees_paid": str(v.fees_paid),
    }


async def run_account_backtest(
    config: AccountBacktestConfig, *, strategies: StrategyCatalog | None = None
) -> AccountBacktestResult:
    catalog = strategies if strategies is not None else StrategyCatalog()
    symbols = sorted({s for b in config.bots for s in b.symbols})
    instruments = [config.instrument(s) for s in symbols]
    quotes = {i.quote for i in instruments}
    if len(quotes) != 1:
        raise ValidationError(
            f"an account backtest values everything in one quote currency; got {sorted(quotes)}"
        )
    quote = quotes.pop()
    steps = align({s: config.series[s] for s in symbols})
    clock = ManualClock(steps[0].ts)
    venue = PaperAccountVenue(
        instruments,
        {quote: config.cash},
        clock,
        maker_fee=config.maker_fee,
        taker_fee=config.taker_fee,
        name="backtest",
    )
    book = AccountBook(venue, quote, {quote: config.cash})
    subs = SubAccounts(
        {quote: config.cash},
        venue.instrument,
        sharing=config.sharing,
        max_fee=max(config.maker_fee, config.taker_fee),
    )
    bus = EventBus()
    store = MemoryOrderStore()
    counter = itertools.count(1)
    runtimes = []
    for spec in config.bots:
        strategy = catalog.build(spec.strategy, spec.params)
        portfolio = subs.register(
            Allocation(spec.bot_id, {quote: spec.capital}, spec.symbols), quote
        )
        view = venue.view(spec.bot_id)
        orders = OrderManager(
            venue=view,
            store=store,
            portfolio=portfolio,
            bus=bus,
            clock=clock,
            ids=_ids(spec.bot_id, counter),
            guard=subs.guard(spec.bot_id),
        )
        subs.attach_orders(spec.bot_id, _open_orders_of(orders))
        runtimes.append(
            BotRuntime(
                bot_id=spec.bot_id,
                strategy=strategy,
                instrument=config.instrument(spec.symbols[0]),
                instruments=[config.instrument(s) for s in spec.symbols[1:]],
                timeframe=config.timeframe,
                feed=None,
                venue=view,
                orders=orders,
                portfolio=portfolio,
                bus=bus,
                clock=clock,
                max_strategy_failures=1,
                drive_venue=False,
            )
        )
    runtime = AccountRuntime(
        venue=venue,
        book=book,
        bots=runtimes,
        feed=ReplayFeed(steps),
        clock=clock,
        record_equity=True,
    )
    outcomes = await runtime.run()
    fills = store.list_fills()
    reports = [
        BotReport(
            spec.bot_id,
            spec.strategy,
            spec.capital,
            outcome.status,
            outcome.error,
            outcome.valuation,
            [f for f in fills if f.bot_id == spec.bot_id],
            runtime_.strategy,
        )
        for spec, outcome, runtime_ in zip(config.bots, outcomes, runtimes, strict=True)
    ]
    return AccountBacktestResult(
        config=config,
        bots=reports,
        account=book.portfolio.valuation(),
        ledger=await venue.fetch_balances(),
        equity_curve=runtime.equity_curve or [],
        orders=list(reversed(store.list(limit=10**9))),
    )


def _ids(bot_id: str, counter: Iterator[int]) -> Callable[[], str]:
    return lambda: f"{bot_id}-{next(counter)}"


def _open_orders_of(orders: OrderManager) -> Callable[[], list[Order]]:
    return lambda: orders.open_orders


def run_account_backtest_sync(
    config: AccountBacktestConfig, *, strategies: StrategyCatalog | None = None
) -> AccountBacktestResult:
    return asyncio.run(run_account_backtest(config, strategies=strategies))
