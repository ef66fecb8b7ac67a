"""``task-station sweep``: a parameter grid on every core, ranked, from the command line
(a real subprocess, a real candle file, the real sweep's worker processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from task_station.backtest.runner import run_backtest_sync
from task_station.services.backtests import check_money, load_config
from tests.jobs.backtest_files import candle_file


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "task_station", *args],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "TASK_DATA_DIR": str(home)},
    )  # fmt: skip


def test_a_sweep_runs_every_combination_ranks_them_and_matches_the_engine(tmp_path: Path) -> None:
    data = candle_file(tmp_path, bars=1500)
    proc = run_cli(
        "sweep", "--strategy", "sma_cross", "--grid", "fast=5,10,40", "--grid", "slow=20,30",
        "--data", str(data), "--cash", "10000", "--fee-bps", "10", "--json",
        home=tmp_path / "home",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 6
    ran = [r for r in rows if r["error"] is None]
    refused = [r for r in rows if r["error"] is not None]
    assert {(r["params"]["fast"], r["params"]["slow"]) for r in refused} == {(40, 20), (40, 30)}
    assert all("must be smaller than slow" in r["error"] for r in refused)
    returns = [r["total_return"] for r in ran]
    assert returns == sorted(returns, reverse=True)  # best first
    # each row is what the event-driven engine computes for that combination
    cash, fee = check_money("10000", "10")
    for row in ran:
        config = load_config(
            strategy="sma_cross", params=row["params"], data=data, cash=cash, fee_bps=fee
        )
        exact = run_backtest_sync(config)
        assert row["trade_count"] == exact.trade_count
        assert abs(
            Decimal(str(row["final_equity"])) - exact.final_equity
        ) <= exact.final_equity * Decimal("1e-9")


def test_a_sweep_without_a_grid_or_of_an_unknown_strategy_is_refused_clearly(
    tmp_path: Path,
) -> None:
    data = candle_file(tmp_path, bars=200)
    base = ["--data", str(data), "--cash", "100"]
    no_grid = run_cli("sweep", "--strategy", "sma_cross", *base, home=tmp_path / "h")
    assert no_grid.returncode == 2 and "--grid" in no_grid.stderr
    unknown = run_cli("sweep", "--strategy", "nope", "--grid", "fast=5", *base, home=tmp_path / "h")
    assert unknown.returncode == 2 and "unknown strategy 'nope'" in unknown.stderr
    bad_axis = run_cli(
        "sweep", "--strategy", "sma_cross", "--grid", "fast", *base, home=tmp_path / "h"
    )
    assert bad_axis.returncode == 2 and "NAME=V1,V2" in bad_axis.stderr
