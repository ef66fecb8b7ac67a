"""Event-driven backtests: the live engine on a replay clock and the paper venue.

Nothing here is backtest-only logic: the strategy, order manager, portfolio and paper
venue are the ones paper and live bots use, so a backtest is a faithful rehearsal.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from task_station.backtest.metrics import BacktestMetrics, Trade, compute_metrics, trade_table
from task_station.backtest.report import ReportData
from task_station.domain.bar_columns import BarColumns, FloatArray
from task_station.domain.bots import BotStatus
from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.clock import ReplayClock, datetime_to_ms
from task_station.domain.errors import TaskStationError, ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order, OrderSide
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime, EquityPoint
from task_station.strategies.catalog import StrategyCatalog
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.paper_venue import MatchingPaperVenue
from task_station.venues.matching.slippage import NO_SLIPPAGE, FixedBps


class BacktestCancelled(TaskStationError):
    """The trader (or a caller's ``should_stop``) ended the backtest before its last bar."""


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """What to replay and how; ``bars`` (columns) or ``candles`` (exact objects)."""

    strategy: str
    params: Mapping[str, object]
    candles: Sequence[Candle]
    instrument: Instrument
    timeframe: str
    cash: Decimal
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    bars: BarColumns | None = None
    #: Bars the strategy sees before it may trade (at least its own ``warmup_bars``);
    #: the metrics start after them.
    warmup: int = 0
    #: The venue's fill assumptions beyond fees: a taker's price moved this many basis
    #: points against it, how long an order takes to reach the venue (market time),
    #: and the largest share of a bar's volume one order may take (None: no cap).
    slippage_bps: Decimal = ZERO
    latency: timedelta = timedelta(0)
    volume_participation: Decimal | None = None

    def __post_init__(self) -> None:
        if self.warmup < 0:
            raise ValidationError(f"warm-up must be 0 or more bars, got {self.warmup}")
        if not ZERO <= self.slippage_bps < 10_000:
            raise ValidationError(f"slippage must be 0 to 10000 bps, got {self.slippage_bps}")
        if self.latency < timedelta(0):
            raise ValidationError(f"latency cannot be negative, got {self.latency}")
        if self.volume_participation is not None and not ZERO < self.volume_participation <= 1:
            raise ValidationError(
                f"volume participation is a fraction in (0, 1], got {self.volume_participation}"
            )
        if self.cash <= ZERO:
            raise ValidationError(f"starting cash must be positive, got {self.cash}")
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(self, name)
            if fee < ZERO or fee >= 1:
                raise ValidationError(f"{name} must be in [0, 1), got {fee}")
        if not self.candles and (self.bars is None or len(self.bars) == 0):
            raise ValidationError("a backtest needs at least one candle")

    def __repr__(self) -> str:
        bars = len(self.bars) if self.bars is not None else len(self.candles)
        return f"BacktestConfig({self.strategy} {dict(self.params)} on {self.instrument.symbol}, {bars} bars)"

    def matching(self) -> MatchingConfig:
        """The paper venue's configuration for these assumptions."""
        return MatchingConfig(
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            slippage=FixedBps(self.slippage_bps) if self.slippage_bps else NO_SLIPPAGE,
            volume_participation=self.volume_participation,
            latency=self.latency,
        )

    def columns(self) -> BarColumns:
        return self.bars if self.bars is not None else BarColumns.from_candles(self.candles)


@dataclass(frozen=True, slots=True)
class BacktestResult:
    config: BacktestConfig
    final_equity: Decimal
    final_cash: Decimal
    final_position: Decimal
    fills: list[Fill]
    orders: list[Order]
    #: The replayed bars and the book's equity at each bar's close (float64: a curve for
    #: charts and statistics; ``final_equity`` is the exact figure).
    bars: BarColumns
    equity: FloatArray
    in_market: npt.NDArray[np.bool_]
    params: dict[str, object] = field(default_factory=dict)
    metrics: dict[str, object] = field(default_factory=dict)
    #: Bars replayed before trading began (the config's, or the strategy's own need).
    warmup: int = 0
    stats: BacktestMetrics | None = None
    slippage_paid: Decimal = ZERO

    @property
    def trade_count(self) -> int:
        return len(self.fills)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run reprs a finished task's result (CPython 3.11
        # does so while restoring its SIGINT handler), and the field-by-field repr of a
        # million-bar result takes seconds.
        return (
            f"BacktestResult({self.config.strategy} on {self.config.instrument.symbol}: "
            f"{len(self.bars)} bars, {self.trade_count} fills, final equity {self.final_equity})"
        )

    @property
    def equity_curve(self) -> list[EquityPoint]:
        """The equity at each bar's close as (close time, Decimal) points."""
        step = timedelta(seconds=TIMEFRAME_SECONDS.get(self.config.timeframe, 3600))
        return [
            EquityPoint(self.bars.time(i) + step, Decimal(repr(value)))
            for i, value in enumerate(self.equity.tolist())
        ]

    @property
    def reasons(self) -> dict[str, str]:
        """Why each order was sent (its tag), by client order id."""
        return {o.client_order_id: o.tag for o in self.orders if o.tag}

    @property
    def bar_seconds(self) -> int:
        return TIMEFRAME_SECONDS.get(self.config.timeframe, 3600)

    def trades(self) -> list[Trade]:
        """Round trips with their entry and exit reasons (an open one marked to the end)."""
        last = len(self.bars) - 1
        return trade_table(
            self.fills,
            self.reasons,
            last_price={self.config.instrument.symbol: self.bars.exact("close", last)},
            bar_seconds=self.bar_seconds,
            as_of=self.bars.time(last) + timedelta(seconds=self.bar_seconds),
        )

    def report_data(self, title: str | None = None) -> ReportData:
        """What the HTML/JSON/CSV report shows (``backtest.report.write_report``)."""
        cfg = self.config
        stats = self.stats or self._metrics()
        return ReportData(
            title=title or f"{cfg.strategy} on {cfg.instrument.symbol} {cfg.timeframe}",
            strategy=cfg.strategy,
            params=self.params,
            symbol=cfg.instrument.symbol,
            timeframe=cfg.timeframe,
            starting_cash=cfg.cash,
            final_equity=self.final_equity,
            timestamps=self.bars.ts * 1_000_000,
            open=self.bars.open,
            high=self.bars.high,
            low=self.bars.low,
            close=self.bars.close,
            equity=self.equity,
            fills=self.fills,
            trades=self.trades(),
            metrics=stats,
        )

    def _metrics(self) -> BacktestMetrics:
        return result_metrics(self.bars, self.equity, self.in_market, self.fills, self.config,
                              self.final_equity, self.reasons, self.warmup, self.slippage_paid)  # fmt: skip

    def to_json(self) -> dict[str, object]:
        cfg = self.config
        bars = self.bars
        reasons = self.reasons  # built once: the property walks every order
        return {
            "strategy": cfg.strategy,
            "params": {k: str(v) if isinstance(v, Decimal) else v for k, v in self.params.items()},
            "symbol": cfg.instrument.symbol,
            "timeframe": cfg.timeframe,
            "bars": len(bars),
            "warmup_bars": self.warmup,
            "start": bars.time(0).isoformat(),
            "end": bars.time(len(bars) - 1).isoformat(),
            "starting_cash": str(cfg.cash),
            "fees": {"maker": str(cfg.maker_fee), "taker": str(cfg.taker_fee)},
            "slippage_bps": str(cfg.slippage_bps),
            "latency_ms": int(cfg.latency.total_seconds() * 1000),
            "slippage_paid": str(self.slippage_paid),
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
                    "reason": reasons.get(f.client_order_id, "signal"),
                }
                for f in self.fills
            ],
            "round_trips": [_trade_json(t) for t in self.trades()],
            "metrics": self.metrics,
        }


async def run_backtest(
    config: BacktestConfig,
    *,
    strategies: StrategyCatalog | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    every_bar: bool = False,
) -> BacktestResult:
    """Replay the config's bars through the engine and return the result.

    ``strategies`` is the station's catalog, so the trader's own strategy files can be
    backtested; without it only the built-ins are known. ``progress(done, total)`` is
    called about ten times a second; a ``should_stop()`` that turns true ends the run
    with ``BacktestCancelled``. ``every_bar`` steps every bar through the live path
    (``BotRuntime.run`` on a feed of candles) instead of the replay's event jumps: the
    same result, slower; the replay's parity tests compare the two.
    """
    catalog = strategies if strategies is not None else StrategyCatalog()
    strategy = catalog.build(config.strategy, config.params)
    bars = config.columns()
    warmup = max(config.warmup, strategy.warmup_bars())
    if warmup >= len(bars):
        raise ValidationError(
            f"{config.strategy} needs {warmup} bars of warm-up but the data has {len(bars)}; "
            f"load a longer history"
        )
    inst = config.instrument
    clock = ReplayClock(bars.time(0))
    bus = EventBus()
    venue = MatchingPaperVenue(
        inst, {inst.quote: config.cash}, clock, name="backtest", config=config.matching()
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
    runtime = BotRuntime(
        bot_id="backtest",
        strategy=strategy,
        instrument=inst,
        timeframe=config.timeframe,
        feed=ReplayFeed([bars.candle(i) for i in range(warmup, len(bars))]) if every_bar else None,
        warmup=[bars.candle(i) for i in range(warmup)] if every_bar else (),
        venue=venue,
        orders=orders,
        portfolio=portfolio,
        bus=bus,
        clock=clock,
        max_strategy_failures=1,
    )
    if every_bar:
        status = await runtime.run()
        runtime.portfolio.mark(inst.symbol, bars.exact("close", len(bars) - 1))
    else:
        status = await runtime.replay(
            bars, progress=progress, should_stop=should_stop, warmup=warmup
        )
    if status is BotStatus.STOPPED:
        raise BacktestCancelled(
            f"the backtest of {config.strategy} was cancelled after "
            f"{runtime.bars_seen} of {len(bars)} bars"
        )
    value = portfolio.valuation()
    fills = store.list_fills(limit=len(bars) * 64)
    orders_seen = list(reversed(store.list(limit=10**9)))
    reasons = {o.client_order_id: o.tag for o in orders_seen if o.tag}
    equity, in_market = equity_path(bars, fills, config.cash)
    slippage = venue.slippage_paid
    stats = result_metrics(
        bars, equity, in_market, fills, config, value.equity, reasons, warmup, slippage
    )
    return BacktestResult(
        config=config,
        final_equity=value.equity,
        final_cash=value.cash,
        final_position=portfolio.position(inst.symbol).quantity,
        fills=fills,
        orders=orders_seen,
        bars=bars,
        equity=equity,
        in_market=in_market,
        params=dict(strategy.p),
        metrics=stats.to_json(),
        warmup=warmup,
        stats=stats,
        slippage_paid=slippage,
    )


def result_metrics(
    bars: BarColumns,
    equity: FloatArray,
    in_market: npt.NDArray[np.bool_],
    fills: Sequence[Fill],
    config: BacktestConfig,
    final_equity: Decimal,
    reasons: Mapping[str, str],
    warmup: int,
    slippage: Decimal,
) -> BacktestMetrics:
    """The metrics of the traded part of a run (after the warm-up, when nothing trades)."""
    seconds = TIMEFRAME_SECONDS.get(config.timeframe, 3600)
    start = min(warmup, len(bars) - 1)
    return compute_metrics(
        equity=equity[start:],
        timestamps=(bars.ts[start:] + seconds * 1000) * 1_000_000,
        prices=bars.close[start:],
        fills=fills,
        starting_cash=config.cash,
        final_equity=final_equity,
        bar_seconds=seconds,
        in_market=in_market[start:],
        reasons=reasons,
        slippage=slippage,
    )


def _trade_json(t: Trade) -> dict[str, object]:
    return {
        "side": t.side,
        "entry": t.entry_ts.isoformat(),
        "exit": t.exit_ts.isoformat() if t.exit_ts is not None else None,
        "quantity": str(t.quantity),
        "entry_price": str(t.entry_price),
        "exit_price": str(t.exit_price) if t.exit_price is not None else None,
        "pnl": str(t.pnl),
        "return_pct": t.return_pct,
        "fees": str(t.fees),
        "entry_reason": t.entry_reason,
        "exit_reason": t.exit_reason,
    }


def equity_path(
    bars: BarColumns, fills: Sequence[Fill], cash: Decimal
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """The book's equity at every bar's close, and whether it held a position then.

    Cash and position only change at fills, so they are step functions of the bar
    index; the equity is cash + position x close, evaluated for every bar at once.
    """
    cash_delta, held = _book_path(bars, fills)
    equity = float(cash) + np.cumsum(cash_delta) + held * bars.close
    return equity, held != 0


def position_path(bars: BarColumns, fills: Sequence[Fill]) -> FloatArray:
    """The position held at each bar's close (a fill lands on the bar it happened in)."""
    return _book_path(bars, fills)[1]


def _book_path(bars: BarColumns, fills: Sequence[Fill]) -> tuple[FloatArray, FloatArray]:
    """Per bar: the cash the fills moved in it, and the position held at its close."""
    n = len(bars)
    cash_delta = np.zeros(n, dtype=np.float64)
    qty_delta = np.zeros(n, dtype=np.float64)
    if fills:
        at = np.searchsorted(bars.ts, [datetime_to_ms(f.ts) for f in fills], side="right") - 1
        at = np.clip(at, 0, n - 1)
        for j, f in zip(at.tolist(), fills, strict=True):
            sign = 1 if f.side is OrderSide.BUY else -1
            cash_delta[j] -= float(sign * f.notional + f.fee)
            qty_delta[j] += float(sign * f.quantity)
    held = np.cumsum(qty_delta)
    held[np.abs(held) < 1e-12] = 0.0
    return cash_delta, held


def run_backtest_sync(
    config: BacktestConfig,
    *,
    strategies: StrategyCatalog | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    every_bar: bool = False,
) -> BacktestResult:
    return asyncio.run(
        run_backtest(
            config,
            strategies=strategies,
            progress=progress,
            should_stop=should_stop,
            every_bar=every_bar,
        )
    )
