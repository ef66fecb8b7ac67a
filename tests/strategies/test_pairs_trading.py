"""Pairs trading on real BTC/USDT and ETH/USDT hourly bars: the z-score of the log
spread equals an independent numpy computation, and every position follows the rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from task_station.backtest.account import (
    AccountBacktestConfig,
    AccountBacktestResult,
    BotSpec,
    run_account_backtest_sync,
)
from task_station.domain.bots import BotStatus
from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.domain.money import ZERO
from task_station.strategies.pairs_trading import PairsTrading
from tests.strategies.helpers import BTC_1H, ETH_1H, candles

A, B = "ETH/USDT", "BTC/USDT"


@pytest.fixture(scope="module")
def series(shared_data: Path) -> dict[str, list[Candle]]:
    return {
        A: candles(shared_data, ETH_1H, 30_000, 3_000),
        B: candles(shared_data, BTC_1H, 30_000, 3_000),
    }


def trade(series: dict[str, list[Candle]], **params: object) -> AccountBacktestResult:
    return run_account_backtest_sync(
        AccountBacktestConfig(
            bots=[BotSpec("pair", "pairs_trading", params, (A, B), Decimal(10_000))],
            series=series,
            timeframe="1h",
            cash=Decimal(10_000),
            maker_fee=Decimal("0.001"),
            taker_fee=Decimal("0.001"),
        )
    )


def numpy_z(series: dict[str, list[Candle]], at: datetime, lookback: int) -> float:
    last = at - timedelta(hours=1)
    a = np.array([float(c.close) for c in series[A] if c.ts <= last][-lookback:])
    b = np.array([float(c.close) for c in series[B] if c.ts <= last][-lookback:])
    la, lb = np.log(a), np.log(b)
    beta = np.cov(la, lb, ddof=0)[0, 1] / np.var(lb)
    spread = la - beta * lb
    return float((spread[-1] - spread.mean()) / spread.std(ddof=1))


def test_every_decision_follows_the_z_score_rules(series: dict[str, list[Candle]]) -> None:
    lookback, entry, exit_, stop = 120, 2.0, 0.5, 4.0
    result = trade(series, lookback=lookback, entry_z="2", exit_z="0.5", stop_z="4")
    report = result.bot("pair")
    assert report.status is BotStatus.FINISHED
    strategy = report.instance
    assert isinstance(strategy, PairsTrading)
    assert len(strategy.decisions) >= 10
    stopped = False
    for at, z, leg, why in strategy.decisions:
        assert isinstance(at, datetime)
        assert z == pytest.approx(numpy_z(series, at, lookback), abs=1e-9)
        if leg == A:
            assert z <= -entry and why == "entry"
        elif leg == B:
            assert z >= entry and why == "entry"
        elif why == "exit":
            assert abs(z) <= exit_
        elif why == "stop":
            assert abs(z) >= stop
            stopped = True
        else:  # still out after a stop: the spread has not come back inside entry_z
            assert why == "after stop" and abs(z) >= entry
    assert stopped, "3,000 hours of BTC/ETH include a spread beyond 4 sigma"
    legs = {leg for _, _, leg, _ in strategy.decisions}
    assert {A, B} <= legs, "on 3,000 hours both legs should have been cheap at some point"
    # It never holds both legs at once.
    held: dict[str, Decimal] = {A: ZERO, B: ZERO}
    for fill in sorted(report.fills, key=lambda f: f.ts):
        held[fill.symbol] += fill.quantity * fill.side.sign
        assert not (held[A] > 0 and held[B] > 0), fill.ts


def test_pairs_parameters_are_checked() -> None:
    with pytest.raises(ValidationError, match="exit_z .* must be smaller than entry_z"):
        PairsTrading({"entry_z": "1", "exit_z": "1.5"})
    with pytest.raises(ValidationError, match="stop_z"):
        PairsTrading({"entry_z": "2", "stop_z": "1.5"})


def test_a_pair_needs_exactly_two_symbols(series: dict[str, list[Candle]]) -> None:
    report = run_account_backtest_sync(
        AccountBacktestConfig(
            bots=[BotSpec("one", "pairs_trading", {}, (A,), Decimal(100))],
            series=series,
            timeframe="1h",
            cash=Decimal(100),
        )
    ).bot("one")
    assert report.status is BotStatus.ERROR and "exactly two symbols" in (report.error or "")
