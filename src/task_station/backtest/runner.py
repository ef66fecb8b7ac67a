"""Event-driven backtests: the live engine on a replay clock and the paper venue.

Nothing here is backtest-only logic: the strategy, order manager, portfolio and paper
venue are the ones paper and live bots use, so a backtest is a faithful rehearsal.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from task_station.backtest.metrics import summarize
from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import ManualClock
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime, EquityPoint
from task_station.strategies.catalog import StrategyCatalog
from task_station.venues.matching.paper_venue import MatchingPaperVenue


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    strategy: str
    params: Mapping[str, object]
    candles: Sequence[Candle]
    instrument: Instrument
    timeframe: str
    cash: Decimal
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.cash <= ZERO:
            raise ValidationError(f"starting cash must be positive, got {self.cash}")
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(self, name)
            if fee < ZERO or fee >= 1:
                raise ValidationError(f"{name} must be in [0, 1), got {fee}")
        if not self.candles:
            raise ValidationError("a backtest needs at least one candle")


@dataclass(frozen=True, slots=True)
class BacktestResult:
    config: BacktestConfig
    final_equity: Decimal
    final_cash: Decimal
    final_position: Decimal
    fills: list[Fill]
    orders: list[Order]
    equity_curve: list[EquityPoint]
    params: dict[str, object] = field(default_factory=dict)
    metrics: dict[str, object] = field(default_factory=dict)

    @property
    def trade_count(self) -> int:
        return len(self.fills)

    def to_json(self) -> dict[str, object]:
        cfg = self.config
        return {
            "strategy": cfg.strategy,
            "params": {k: str(v) if isinstance(v, Decimal) else v for k, v in self.params.items()},
            "symbol": cfg.instrument.symbol,
            "timeframe": cfg.timeframe,
            "bars": len(cfg.candles),
            "start": cfg.candles[0].ts.isoformat(),
            "end": cfg.candles[-1].ts.isoformat(),
            "starting_cash": str(cfg.cash),
            "final_equity": str(self.final_equity),
            "final_cash": str(self.final_cash),
            "final_position": str(self.final_position),
            "trade_count": self.trade_count,
            "trades": [
                {
                    "ts": f.ts.isoformat(),
                    "side": f.side.value,
                    "price": str(f.price),
                    "quantity": str(f.quantity),
                    "fee": str(f.fee),
                    "liquidity": f.liquidity,
                }
                for f in self.fills
            ],
            "metrics": self.metrics,
        }


async def run_backtest(
    config: BacktestConfig, *, strategies: StrategyCatalog | None = None
) -> BacktestResult:
    """Replay ``config.candles`` through the engine and return the result.

    ``strategies`` is the station's catalog, so the trader's own strategy files can be
    backtested; without it only the built-ins are known.
    """
    catalog = strategies if strategies is not None else StrategyCatalog()
    strategy = catalog.build(config.strategy, config.params)
    inst = config.instrument
    clock = ManualClock(config.candles[0].ts)
    bus = EventBus()
    venue = MatchingPaperVenue(
        inst,
        {inst.quote: config.cash},
        clock,
        maker_fee=config.maker_fee,
        taker_fee=config.taker_fee,
        name="backtest",
    )
    portfolio = Portfolio("backtest", inst.quote, {inst.quote: config.cash})
    store = MemoryOrderStore()
    counter = itertools.count(1)
    orders = OrderManager(
        venue=venue,
        store=store,
        portfolio=portfolio,
        bus=bus,
        clock=clock,
        ids=lambda: f"bt-{next(counter)}",
    )
    in_market = 0

    def count_exposure(_: Candle) -> None:
        nonlocal in_market
        in_market += portfolio.position(inst.symbol).quantity != ZERO

    runtime = BotRuntime(
        bot_id="backtest",
        strategy=strategy,
        instrument=inst,
        timeframe=config.timeframe,
        feed=ReplayFeed(config.candles),
        venue=venue,
        orders=orders,
        portfolio=portfolio,
        bus=bus,
        clock=clock,
        max_strategy_failures=1,
        record_equity=True,
        on_bar=count_exposure,
    )
    await runtime.run()
    value = portfolio.valuation()
    fills = store.list_fills()
    curve = runtime.equity_curve or []
    metrics = summarize(
        starting_cash=config.cash,
        final_equity=value.equity,
        equity=[p.equity for p in curve],
        fills=fills,
        bar_seconds=TIMEFRAME_SECONDS.get(config.timeframe, 3600),
        bars_in_market=in_market,
    )
    return BacktestResult(
        config=config,
        final_equity=value.equity,
        final_cash=value.cash,
        final_position=portfolio.position(inst.symbol).quantity,
        fills=fills,
        orders=list(reversed(store.list(limit=10**9))),
        equity_curve=curve,
        params=dict(strategy.p),
        metrics=metrics,
    )


def run_backtest_sync(
    config: BacktestConfig, *, strategies: StrategyCatalog | None = None
) -> BacktestResult:
    return asyncio.run(run_backtest(config, strategies=strategies))
