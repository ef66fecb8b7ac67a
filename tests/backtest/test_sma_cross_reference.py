"""The backtest engine agrees with an independent exact computation of the sma_cross rule.

The reference below shares no code with the station: it reads the file with pandas,
turns every price into a ``Fraction`` of its printed decimal, and applies the rule of
the specification directly.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from task_station.services.backtests import BacktestService


def reference(path: Path, fast: int, slow: int, cash: int, fee_bps: int) -> tuple[int, Fraction]:
    df = pd.read_parquet(path)
    opens = [Fraction(repr(x)) for x in df["open"]]
    closes = [Fraction(repr(x)) for x in df["close"]]
    fee = Fraction(fee_bps, 10_000)
    n = len(closes)
    d: list[Fraction | None] = [None] * n
    sum_fast = sum(closes[: fast - 1], Fraction(0))
    sum_slow = sum(closes[: slow - 1], Fraction(0))
    for t in range(n):
        if t >= fast - 1:
            sum_fast += closes[t] if t >= fast - 1 else 0
        if t >= slow - 1:
            sum_slow += closes[t]
        if t >= slow - 1:
            d[t] = sum_fast / fast - sum_slow / slow
        if t >= fast - 1:
            sum_fast -= closes[t - fast + 1]
        if t >= slow - 1:
            sum_slow -= closes[t - slow + 1]
    money, qty, trades = Fraction(cash), Fraction(0), 0
    for t in range(slow, n - 1):  # a signal on the last bar never fills
        prev, cur = d[t - 1], d[t]
        assert prev is not None and cur is not None
        if qty == 0 and prev <= 0 < cur:
            qty, money, trades = money / (opens[t + 1] * (1 + fee)), Fraction(0), trades + 1
        elif qty > 0 and prev >= 0 > cur:
            money, qty, trades = qty * opens[t + 1] * (1 - fee), Fraction(0), trades + 1
    return trades, money + qty * closes[-1]


def assert_close(actual: str, expected: Fraction) -> None:
    rel = abs(Fraction(actual) - expected) / expected
    assert rel < Fraction(1, 10**9), f"relative error {float(rel):.3e}"


def test_cli_backtest_matches_exact_reference_on_binance_btc(
    shared_data: Path, tmp_path: Path
) -> None:
    data = shared_data / "candles/binance/BTC_USDT-1h.parquet"
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "task_station", "backtest", "--strategy", "sma_cross",
         "--param", "fast=10", "--param", "slow=30", "--data", str(data),
         "--cash", "100000", "--fee-bps", "0", "--json", str(out)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    printed = json.loads(proc.stdout)
    assert printed == json.loads(out.read_text())
    trades, equity = reference(data, 10, 30, 100_000, 0)
    assert printed["trade_count"] == trades == len(printed["trades"])
    assert_close(printed["final_equity"], equity)
    assert {"total_return", "max_drawdown", "sharpe"} <= set(printed["metrics"])


@pytest.mark.parametrize(
    ("relpath", "fast", "slow", "fee_bps"),
    [
        ("candles/binance/ETH_USDT-1h.parquet", 12, 26, 10),
        ("candles/bitstamp/BTC_USD-1d.parquet", 5, 20, 25),
        ("candles/bittrex/ETH_BTC-5m.parquet", 7, 21, 10),
        ("candles/coinbase/BTC_USD-1h.parquet", 20, 50, 5),
        ("candles/binance/XRP_ETH-1m.parquet", 3, 9, 0),
    ],
)
def test_engine_matches_exact_reference_on_other_series(
    shared_data: Path, relpath: str, fast: int, slow: int, fee_bps: int
) -> None:
    data = shared_data / relpath
    result = asyncio.run(
        BacktestService().run(
            strategy="sma_cross",
            params={"fast": fast, "slow": slow},
            data=data,
            cash="10000",
            fee_bps=fee_bps,
        )
    )
    trades, equity = reference(data, fast, slow, 10_000, fee_bps)
    assert trades > 0
    assert result.trade_count == trades
    assert_close(str(result.final_equity), equity)
