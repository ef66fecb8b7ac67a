"""``task-station account-backtest``: several bots on one account from a JSON spec, on
slices of the real BTC/USDT and ETH/USDT hourly candles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tests.strategies.helpers import BTC_1H, ETH_1H


@pytest.fixture
def spec(tmp_path: Path, shared_data: Path) -> Path:
    for name, rel in (("btc.parquet", BTC_1H), ("eth.parquet", ETH_1H)):
        pd.read_parquet(shared_data / rel).iloc[40_000:41_500].to_parquet(tmp_path / name)
    path = tmp_path / "account.json"
    path.write_text(
        json.dumps(
            {
                "cash": "10000",
                "fee_bps": "10",
                "data": {"BTC/USDT": "btc.parquet", "ETH/USDT": "eth.parquet"},
                "bots": [
                    {"id": "trend", "strategy": "ema_cross", "symbols": ["BTC/USDT"],
                     "capital": "3000", "params": {"fast": 12, "slow": 26}},
                    {"id": "revert", "strategy": "bollinger_reversion",
                     "symbols": ["BTC/USDT"], "capital": "3000"},
                    {"id": "rotate", "strategy": "momentum_rotation",
                     "symbols": ["ETH/USDT", "BTC/USDT"], "capital": "3000",
                     "params": {"lookback": 48, "rebalance_every": 24}},
                ],
            }
        )
    )  # fmt: skip
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "task_station", *args],
        capture_output=True, text=True, timeout=240, env=dict(os.environ),
    )  # fmt: skip


def test_account_backtest_reports_each_bot_and_an_account_that_adds_up(
    spec: Path, tmp_path: Path
) -> None:
    out = tmp_path / "result.json"
    proc = run_cli("account-backtest", str(spec), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert json.loads(proc.stdout) == result
    bots = {b["bot_id"]: b for b in result["bots"]}
    assert set(bots) == {"trend", "revert", "rotate"}
    assert all(b["fills"] > 0 and b["status"] == "finished" for b in bots.values())
    total = sum(Decimal(b["pnl"]) for b in bots.values())
    assert total.quantize(Decimal("0.01")) == Decimal(result["account"]["pnl"]).quantize(
        Decimal("0.01")
    )
    unallocated = Decimal(1000)
    cash = sum(Decimal(b["cash"]) for b in bots.values()) + unallocated
    assert cash == Decimal(result["ledger"]["USDT"])


def test_account_backtest_refuses_over_allocation_with_a_clear_message(spec: Path) -> None:
    raw = json.loads(spec.read_text())
    raw["bots"][0]["capital"] = "9000"
    spec.write_text(json.dumps(raw))
    proc = run_cli("account-backtest", str(spec))
    assert proc.returncode == 2
    assert "cannot allocate 3000 USDT to bot revert" in proc.stderr
    assert proc.stdout == ""


def test_account_backtest_names_a_symbol_without_data(spec: Path) -> None:
    raw = json.loads(spec.read_text())
    raw["bots"][0]["symbols"] = ["SOL/USDT"]
    spec.write_text(json.dumps(raw))
    proc = run_cli("account-backtest", str(spec))
    assert proc.returncode == 2 and "no candle file given for SOL/USDT" in proc.stderr
