"""Every preset backtested on real candles, its result pinned in a reviewed golden file.

Each preset runs through the real engine and paper venue on a fixed slice of a real
candle file for its market and timeframe, with 10,000 quote of cash and a 0.1 % fee.
Its trade count, final equity (to the cent) and maximum drawdown are compared with
``preset_reference_metrics.json``; a change to a strategy, the engine or a preset that
moves any result shows up as a diff of that file. Refresh it with
``TASK_UPDATE_PRESET_METRICS=1 pytest tests/strategies/test_preset_backtests.py``.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from task_station.backtest.account import (
    AccountBacktestConfig,
    BotSpec,
    run_account_backtest_sync,
)
from task_station.domain.candles import Candle
from task_station.strategies.presets import Preset, load_presets
from tests.strategies.helpers import backtest, candles

GOLDEN = Path(__file__).with_name("preset_reference_metrics.json")
CASH = Decimal(10_000)
FEE = Decimal("0.001")
CENT = Decimal("0.01")

#: (symbol, timeframe) -> (shared candle file, bars from the end of it)
DATA: dict[tuple[str, str], tuple[str, int]] = {
    ("BTC/USDT", "1h"): ("candles/binance/BTC_USDT-1h.parquet", 3000),
    ("ETH/USDT", "1h"): ("candles/binance/ETH_USDT-1h.parquet", 3000),
    ("BTC/USDT", "1d"): ("candles/bitstamp/BTC_USD-1d.parquet", 1000),
    ("ETH/USDT", "1d"): ("candles/binance/ETH_USDT-1d.parquet", 1000),
}


def _bars(shared_data: Path, key: tuple[str, str]) -> list[Candle]:
    relpath, rows = DATA[key]
    total = len(pd.read_parquet(shared_data / relpath, columns=["close"]))
    return candles(shared_data, relpath, total - rows, rows)


def reference_metrics(p: Preset, bars: dict[str, list[Candle]]) -> dict[str, object]:
    """One preset's pinned figures; a multi-symbol preset runs as an account backtest."""
    if p.multi_symbol:
        return basket_metrics(p, bars)
    result = backtest(
        p.family, p.params, bars[p.symbol], cash=CASH, symbol=p.symbol, timeframe=p.timeframe,
        fee=FEE,
    )  # fmt: skip
    drawdown = result.metrics["max_drawdown"]
    assert isinstance(drawdown, float)
    return {
        "trades": result.trade_count,
        "final_equity": str(result.final_equity.quantize(CENT)),
        "max_drawdown": round(drawdown, 4),
    }


def basket_metrics(p: Preset, bars: dict[str, list[Candle]]) -> dict[str, object]:
    result = run_account_backtest_sync(
        AccountBacktestConfig(
            bots=[BotSpec("preset", p.family, p.params, p.all_symbols, CASH)],
            series={s: bars[s] for s in p.all_symbols},
            timeframe=p.timeframe,
            cash=CASH,
            maker_fee=FEE,
            taker_fee=FEE,
        )
    )
    equity = [float(e.equity) for e in result.equity_curve]
    peak, drawdown = equity[0], 0.0
    for value in equity:
        peak = max(peak, value)
        drawdown = max(drawdown, 1 - value / peak)
    report = result.bot("preset")
    return {
        "trades": len(report.fills),
        "final_equity": str(report.valuation.equity.quantize(CENT)),
        "max_drawdown": round(drawdown, 4),
    }


def _write(metrics: dict[str, dict[str, object]]) -> None:
    lines = [f"  {json.dumps(name)}: {json.dumps(m)}" for name, m in sorted(metrics.items())]
    GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def test_every_preset_reproduces_its_reference_metrics(shared_data: Path) -> None:
    presets = load_presets()
    markets = {(s, p.timeframe) for p in presets for s in p.all_symbols}
    assert markets <= set(DATA), "a market without data"
    bars = {key: _bars(shared_data, key) for key in DATA}
    actual = {
        p.name: reference_metrics(p, {s: bars[s, p.timeframe] for s in p.all_symbols})
        for p in presets
    }
    if os.environ.get("TASK_UPDATE_PRESET_METRICS") == "1":
        _write(actual)
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    missing = sorted(set(actual) - set(expected))
    stale = sorted(set(expected) - set(actual))
    moved = [
        f"{name}: expected {expected[name]}, got {m}"
        for name, m in sorted(actual.items())
        if name in expected and expected[name] != m
    ]
    assert not (missing or stale or moved), (
        f"missing from {GOLDEN.name}: {missing}\nstale in it: {stale}\nmoved:\n"
        + "\n".join(moved)
        + "\n(run with TASK_UPDATE_PRESET_METRICS=1 if the change is intended)"
    )
    # The presets are meant to do something on their own market: nearly all of them trade.
    idle = sorted(name for name, m in actual.items() if m["trades"] == 0)
    assert len(idle) <= len(actual) // 20, f"presets that never trade: {idle}"


@pytest.mark.parametrize("family", ["sma_cross", "grid", "twap", "pairs_trading"])
def test_the_reference_run_is_deterministic(shared_data: Path, family: str) -> None:
    p = next(p for p in load_presets() if p.family == family)
    bars = {s: _bars(shared_data, (s, p.timeframe)) for s in p.all_symbols}
    assert reference_metrics(p, bars) == reference_metrics(p, bars)
