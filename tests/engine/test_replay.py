"""The backtest replay is the live path: jumping over quiet bars changes nothing.

``BotRuntime.replay`` (a backtest) skips the bars where nothing but the strategy could
act, and the strategy's own no-op bars when it declared what wakes it. These tests run
every one-instrument strategy family both ways — the replay, and ``BotRuntime.run``
stepping every bar through the live code — and compare every order, every fill and the
final equity exactly.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from task_station.backtest.runner import BacktestConfig, BacktestResult, run_backtest_sync
from task_station.domain.bar_columns import BarColumns
from task_station.domain.candles import Candle
from task_station.domain.instruments import Instrument
from task_station.marketdata.candle_files import read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.strategies.base import Strategy, StrategyContext
from task_station.strategies.catalog import StrategyCatalog
from task_station.strategies.indicators import SmaCrossSign

ONE_SYMBOL_FAMILIES = [
    "sma_cross",
    "ema_cross",
    "bollinger_breakout",
    "bollinger_reversion",
    "rsi_reversion",
    "donchian_breakout",
    "macd_trend",
    "supertrend",
    "grid",
    "market_making",
    "dca",
    "twap",
    "vwap",
]


def _config(
    bars: BarColumns, strategy: str, params: dict[str, object] | None = None
) -> BacktestConfig:
    return BacktestConfig(
        strategy=strategy,
        params=params or {},
        candles=(),
        bars=bars,
        instrument=Instrument.from_symbol("BTC/USDT"),
        timeframe="1h",
        cash=Decimal(100_000),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.001"),
    )


def _same(fast: BacktestResult, slow: BacktestResult) -> None:
    def orders(r: BacktestResult) -> list[tuple[object, ...]]:
        return [
            (o.client_order_id, o.side, o.type, o.status, o.quantity, o.quote_quantity,
             o.price, o.trigger_price, o.created_at, o.filled_quantity, o.fees, o.tag)
            for o in r.orders
        ]  # fmt: skip

    def fills(r: BacktestResult) -> list[tuple[object, ...]]:
        return [(f.trade_id, f.side, f.price, f.quantity, f.fee, f.ts) for f in r.fills]

    assert orders(fast) == orders(slow)
    assert fills(fast) == fills(slow)
    assert fast.final_equity == slow.final_equity
    assert fast.final_cash == slow.final_cash
    assert fast.final_position == slow.final_position
    assert (fast.equity == slow.equity).all()


@pytest.fixture(scope="module")
def real_bars(shared_data: Path) -> BarColumns:
    frame = read_frame(shared_data / "candles/binance/BTC_USDT-1h.parquet")
    return BarColumns.from_frame(frame.iloc[:4000])


@pytest.mark.parametrize("family", ONE_SYMBOL_FAMILIES)
def test_replay_equals_stepping_every_bar_on_real_btc(family: str, real_bars: BarColumns) -> None:
    config = _config(real_bars, family)
    fast = run_backtest_sync(config)
    slow = run_backtest_sync(config, every_bar=True)
    _same(fast, slow)


@pytest.mark.parametrize("family", ["sma_cross", "donchian_breakout", "grid", "dca"])
def test_replay_equals_stepping_every_bar_on_a_synthetic_market(family: str) -> None:
    bars = BarColumns.from_frame(generate_frame(SyntheticMarketSpec(bars=3000, seed=11)))
    config = _config(bars, family)
    _same(run_backtest_sync(config), run_backtest_sync(config, every_bar=True))


def test_sma_cross_trades_on_the_replay_as_on_exact_candles(real_bars: BarColumns) -> None:
    """Columns read from floats give the same Decimals as the exact candle objects."""
    candles = [real_bars.candle(i) for i in range(len(real_bars))]
    from_candles = _config(BarColumns.from_candles(candles), "sma_cross", {"fast": 5, "slow": 20})
    _same(run_backtest_sync(_config(real_bars, "sma_cross", {"fast": 5, "slow": 20})),
          run_backtest_sync(from_candles))  # fmt: skip


class _CountingCross(Strategy):
    """sma_cross's rule, counting the bars it is called on."""

    name = "counting_cross"
    calls = 0

    def on_start(self, ctx: StrategyContext) -> None:
        self.sign = ctx.indicator(SmaCrossSign(5, 20), wake=True)
        self.prev: int | None = None

    def on_bar(self, ctx: StrategyContext, candle: Candle) -> None:
        type(self).calls += 1
        self.prev = self.sign.value


def test_a_waking_series_spares_the_strategy_its_quiet_bars_live_and_replayed(
    real_bars: BarColumns,
) -> None:
    from task_station.strategies.registry import BUILTIN

    catalog = StrategyCatalog(builtin={**BUILTIN, "counting_cross": _CountingCross})
    sign = SmaCrossSign(5, 20).batch(real_bars)
    changes = sum(1 for i in range(len(sign)) if sign[i] != (sign[i - 1] if i else None))
    config = _config(real_bars, "counting_cross")
    for every_bar in (False, True):
        _CountingCross.calls = 0
        run_backtest_sync(config, strategies=catalog, every_bar=every_bar)
        assert _CountingCross.calls == changes
    assert changes < len(real_bars) / 2  # the point: far fewer calls than bars


def test_progress_reaches_the_total_and_a_stop_cancels(real_bars: BarColumns) -> None:
    from task_station.backtest.runner import BacktestCancelled

    seen: list[tuple[int, int]] = []
    run_backtest_sync(_config(real_bars, "grid"), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (len(real_bars), len(real_bars))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(BacktestCancelled, match="cancelled after"):
        run_backtest_sync(_config(real_bars, "grid"), should_stop=lambda: True)
