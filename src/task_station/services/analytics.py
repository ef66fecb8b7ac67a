"""Per-bot analytics: equity, drawdown, exposure, round trips and risk metrics of a bot
from the bars it has seen and the fills it has made.

The same arithmetic as a backtest's report (``backtest.runner.equity_path``,
``backtest.metrics``), applied to a live or paper bot's own record, so a trader
compares a bot with its backtest on identical definitions.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from task_station.backtest.metrics import (
    BacktestMetrics,
    Trade,
    compute_metrics,
    drawdown_series,
    trade_table,
)
from task_station.backtest.runner import equity_path, position_path
from task_station.domain.bar_columns import BarColumns
from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.services.bots import BotService
from task_station.services.trading import OrderService

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BotAnalytics:
    """One bot's record as series (one value a bar) and round trips."""

    bot_id: str
    symbol: str
    starting_cash: Decimal
    #: Bar open times, ms since 1970 UTC (the values are at each bar's close).
    timestamps_ms: npt.NDArray[np.int64]
    equity: FloatArray
    #: Drawdown from the running peak at each bar (0.1 = 10 % below it), as in reports.
    drawdown: FloatArray
    #: Share of equity held in the position at each close (0 flat, 1 all in).
    exposure: FloatArray
    trades: builtins.list[Trade]
    metrics: BacktestMetrics | None

    @property
    def bars(self) -> int:
        return len(self.equity)

    @property
    def trade_pnls(self) -> builtins.list[Decimal]:
        return [t.pnl for t in self.trades]

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else float(self.starting_cash)


class AnalyticsService:
    """Read-only analytics over the bots' stored bars, orders and fills."""

    def __init__(self, bots: BotService, orders: OrderService) -> None:
        self._bots = bots
        self._orders = orders

    def bot(self, bot_id: str) -> BotAnalytics:
        """The analytics of ``bot_id`` as of its last bar (empty series before it ran)."""
        bot = self._bots.get(bot_id)
        candles = self._bots.bars(bot_id)
        fills = sorted(self._orders.fills(bot_id=bot_id), key=lambda f: f.ts)
        reasons = {
            o.client_order_id: o.tag or "signal"
            for o in self._orders.list(bot_id=bot_id, limit=5000)
        }
        empty = np.zeros(0)
        if not candles:
            return BotAnalytics(
                bot_id, bot.symbol, bot.quote_budget, np.zeros(0, np.int64), empty, empty,
                empty, trade_table(fills, reasons), None,
            )  # fmt: skip
        bars = BarColumns.from_candles(candles)
        equity, in_market = equity_path(bars, fills, bot.quote_budget)
        held = position_path(bars, fills)
        with np.errstate(divide="ignore", invalid="ignore"):
            exposure = np.where(equity > 0, np.abs(held * bars.close) / equity, 0.0)
        seconds = TIMEFRAME_SECONDS.get(bot.timeframe) or _median_seconds(bars)
        last_close = {bot.symbol: candles[-1].close}
        trades = trade_table(
            fills, reasons, last_price=last_close, bar_seconds=seconds, as_of=candles[-1].ts
        )
        metrics = None
        if len(candles) >= 2:
            metrics = compute_metrics(
                equity=equity,
                timestamps=(bars.ts.astype(np.int64) + seconds * 1000) * 1_000_000,
                prices=bars.close,
                fills=fills,
                starting_cash=bot.quote_budget,
                final_equity=Decimal(repr(float(equity[-1]))),
                bar_seconds=seconds,
                in_market=in_market,
                reasons=reasons,
            )
        return BotAnalytics(
            bot_id,
            bot.symbol,
            bot.quote_budget,
            bars.ts.astype(np.int64),
            equity,
            drawdown_series(equity),
            exposure,
            trades,
            metrics,
        )


def _median_seconds(bars: BarColumns) -> int:
    """The bar spacing when the timeframe's name is not a standard one."""
    if len(bars) < 2:
        return 60
    return max(1, int(np.median(np.diff(bars.ts)) // 1000))
