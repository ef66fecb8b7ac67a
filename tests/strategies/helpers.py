"""Shared by the strategy-family tests: real candles and a backtest through the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import pandas as pd

from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from task_station.domain.candles import Candle
from task_station.domain.clock import ManualClock
from task_station.domain.instruments import Instrument
from task_station.engine.bus import EventBus
from task_station.engine.feeds import ReplayFeed
from task_station.engine.memory import MemoryOrderStore
from task_station.engine.order_manager import OrderManager
from task_station.engine.portfolio import Portfolio
from task_station.engine.runtime import BotRuntime
from task_station.marketdata.candle_files import frame_to_candles, validate_frame
from task_station.strategies.base import Strategy
from task_station.venues.matching.paper_venue import MatchingPaperVenue

BTC_1H = "candles/binance/BTC_USDT-1h.parquet"
ETH_1H = "candles/binance/ETH_USDT-1h.parquet"
ETH_1D = "candles/binance/ETH_USDT-1d.parquet"
BTC_5M = "candles/binanceusdm/BTC_USDT_USDT-5m.parquet"


def frame(shared_data: Path, relpath: str, start: int = 0, rows: int | None = None) -> pd.DataFrame:
    """Rows ``start``..``start + rows`` of a shared candle file, validated, reindexed."""
    df = pd.read_parquet(shared_data / relpath)
    end = None if rows is None else start + rows
    return validate_frame(df.iloc[start:end].reset_index(drop=True), relpath)


def candles(
    shared_data: Path, relpath: str, start: int = 0, rows: int | None = None
) -> list[Candle]:
    return frame_to_candles(frame(shared_data, relpath, start, rows))


def backtest(
    strategy: str,
    params: Mapping[str, object],
    bars: list[Candle],
    *,
    cash: Decimal = Decimal(100_000),
    symbol: str = "BTC/USDT",
    timeframe: str = "1h",
    fee: Decimal = Decimal(0),
) -> BacktestResult:
    config = BacktestConfig(
        strategy=strategy,
        params=params,
        candles=bars,
        instrument=Instrument.from_symbol(symbol, venue="backtest"),
        timeframe=timeframe,
        cash=cash,
        maker_fee=fee,
        taker_fee=fee,
    )
    return asyncio.run(run_backtest(config))


def bar_index(bars: list[Candle]) -> dict[object, int]:
    """Bar open time -> position, to find which bar a fill happened in."""
    return {c.ts: i for i, c in enumerate(bars)}


def run_runtime(
    strategy: Strategy,
    bars: list[Candle],
    balances: dict[str, Decimal],
    *,
    symbol: str = "BTC/USDT",
    probe: Callable[[Portfolio, OrderManager], None] | None = None,
) -> tuple[MemoryOrderStore, Portfolio]:
    """Run ``strategy`` through the real runtime and matching paper venue; ``probe`` sees
    the book after each bar's matching, before the strategy."""
    instrument = Instrument.from_symbol(symbol, venue="paper")
    clock = ManualClock(bars[0].ts)
    bus = EventBus()
    venue = MatchingPaperVenue(instrument, dict(balances), clock)
    portfolio = Portfolio("b", instrument.quote, dict(balances))
    store = MemoryOrderStore()
    orders = OrderManager(venue=venue, store=store, portfolio=portfolio, bus=bus, clock=clock)
    runtime = BotRuntime(
        bot_id="b", strategy=strategy, instrument=instrument, timeframe="1h",
        feed=ReplayFeed(bars), venue=venue, orders=orders, portfolio=portfolio, bus=bus,
        clock=clock, max_strategy_failures=1,
        on_bar=None if probe is None else (lambda _: probe(portfolio, orders)),
    )  # fmt: skip
    asyncio.run(runtime.run())
    return store, portfolio


def floor12(x: float | Decimal) -> Decimal:
    """Round down to twelve decimals, as the strategies do without an instrument step."""
    return Decimal(repr(x) if isinstance(x, float) else x).quantize(
        Decimal("1e-12"), rounding="ROUND_FLOOR"
    )


def long_only_fills(signals: list[int], n: int) -> list[tuple[str, int]]:
    """Expected (side, fill bar) of a long-only all-in strategy from per-bar signals
    (+1 enter, -1 exit): a signal at bar t fills at the open of bar t + 1."""
    out: list[tuple[str, int]] = []
    long = False
    for t in range(n - 1):  # a signal on the last bar never fills
        if not long and signals[t] > 0:
            out.append(("buy", t + 1))
            long = True
        elif long and signals[t] < 0:
            out.append(("sell", t + 1))
            long = False
    return out


def actual_fills(result: BacktestResult, bars: list[Candle]) -> list[tuple[str, int]]:
    index = bar_index(bars)
    return [(f.side.value, index[f.ts]) for f in result.fills]
