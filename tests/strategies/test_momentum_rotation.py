"""Momentum rotation on ten real altcoin series (Bittrex, 5-minute bars, quoted in BTC):
it holds exactly the top-N symbols by trailing return, as pandas ranks them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
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
from task_station.strategies.momentum_rotation import MomentumRotation
from tests.strategies.helpers import candles

COINS = ("ADA", "DASH", "ETC", "ETH", "LTC", "NXT", "POWR", "XLM", "XMR", "ZEC")
SYMBOLS = tuple(f"{c}/BTC" for c in COINS)
BAR = timedelta(minutes=5)


@pytest.fixture(scope="module")
def series(shared_data: Path) -> dict[str, list[Candle]]:
    return {
        f"{c}/BTC": candles(shared_data, f"candles/bittrex/{c}_BTC-5m.parquet", 0, 2500)
        for c in COINS
    }


def rotate(series: dict[str, list[Candle]], **params: object) -> AccountBacktestResult:
    config = AccountBacktestConfig(
        bots=[BotSpec("rotation", "momentum_rotation", params, SYMBOLS, Decimal(10))],
        series=series,
        timeframe="5m",
        cash=Decimal(10),
        maker_fee=Decimal("0.0025"),
        taker_fee=Decimal("0.0025"),
    )
    return run_account_backtest_sync(config)


def pandas_ranking(
    series: dict[str, list[Candle]], at: datetime, lookback: int, top_n: int,
    floor: float, risk_adjusted: bool,
) -> tuple[str, ...]:  # fmt: skip
    scores = {}
    for symbol, bars in series.items():
        closes = pd.Series(
            [float(c.close) for c in bars], index=[c.ts for c in bars], dtype="float64"
        )
        window = closes[closes.index <= at - BAR].iloc[-(lookback + 1) :]
        if len(window) < lookback + 1:
            continue
        score = window.iloc[-1] / window.iloc[0] - 1
        if risk_adjusted:
            score /= window.pct_change().dropna().std(ddof=1)
        if score > floor:
            scores[symbol] = score
    ranked = sorted(scores, key=lambda s: (-scores[s], s))
    return tuple(ranked[:top_n])


@pytest.mark.parametrize(
    ("top_n", "risk_adjusted"), [(1, False), (3, False), (2, True)], ids=["top1", "top3", "sharpe"]
)
def test_rotation_holds_the_top_n_by_trailing_return(
    series: dict[str, list[Candle]], top_n: int, risk_adjusted: bool
) -> None:
    lookback, every = 48, 24
    result = rotate(
        series, lookback=lookback, rebalance_every=every, top_n=top_n,
        risk_adjusted=risk_adjusted,
    )  # fmt: skip
    report = result.bot("rotation")
    assert report.status is BotStatus.FINISHED
    strategy = report.instance
    assert isinstance(strategy, MomentumRotation)
    scheduled = (2500 - lookback - 1) // every
    assert len(strategy.choices) >= 0.9 * scheduled  # only skipped while orders work
    for at, chosen in strategy.choices:
        assert isinstance(at, datetime)
        assert chosen == pandas_ranking(series, at, lookback, top_n, 0.0, risk_adjusted), at
        assert len(chosen) <= top_n
    held = {f.symbol for f in report.fills}
    assert len(held) >= 3, "a rotation over ten coins should have moved between several"
    # At the end it holds nothing outside the last choice.
    last = set(strategy.choices[-1][1])
    positions = {
        s: sum((f.quantity * f.side.sign for f in report.fills if f.symbol == s), ZERO)
        for s in SYMBOLS
    }
    assert {s for s, q in positions.items() if q > 0} <= last


def test_rotation_stays_in_cash_when_nothing_beats_the_momentum_floor(
    series: dict[str, list[Candle]],
) -> None:
    result = rotate(series, lookback=48, rebalance_every=24, min_momentum="9")
    report = result.bot("rotation")
    assert report.fills == [] and report.valuation.equity == Decimal(10)
    assert isinstance(report.instance, MomentumRotation)
    assert all(chosen == () for _, chosen in report.instance.choices)


def test_rotation_needs_several_symbols(series: dict[str, list[Candle]]) -> None:
    config = AccountBacktestConfig(
        bots=[BotSpec("solo", "momentum_rotation", {}, ("ETH/BTC",), Decimal(1))],
        series=series,
        timeframe="5m",
        cash=Decimal(1),
    )
    report = run_account_backtest_sync(config).bot("solo")
    assert report.status is BotStatus.ERROR
    assert "give the bot at least two" in (report.error or "")


def test_rotation_parameters_are_checked() -> None:
    with pytest.raises(ValidationError, match="top_n"):
        MomentumRotation({"top_n": 0})
