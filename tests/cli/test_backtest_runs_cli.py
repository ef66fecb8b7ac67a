"""``task-station backtest --report`` with its progress bar, and ``task-station backtests``
over a station's stored runs: real subprocesses, real files, a real SQLite database."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from task_station.cli import ProgressBar
from task_station.persistence import Database, sqlite_url
from task_station.persistence.backtests import BacktestRun, RunStatus, SqlBacktestRunStore
from tests.jobs.backtest_files import candle_file

BACKTEST = ["backtest", "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20",
            "--cash", "10000", "--fee-bps", "10"]  # fmt: skip


def run_cli(
    *args: str, env: dict[str, str] | None = None, stderr: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "task_station", *args],
        stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=240,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_backtest_report_writes_html_json_and_trades_csv_and_stdout_stays_json(
    tmp_path: Path,
) -> None:
    data = candle_file(tmp_path, bars=400)
    report = tmp_path / "out" / "sma.html"
    report.parent.mkdir()
    proc = run_cli(*BACKTEST, "--data", str(data), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["bars"] == 400 and result["trade_count"] > 0
    assert "<html" in report.read_text(encoding="utf-8").lower()
    assert json.loads((tmp_path / "out" / "sma.json").read_text(encoding="utf-8"))
    assert (tmp_path / "out" / "sma.trades.csv").read_text(encoding="utf-8").count("\n") > 1
    assert "\r" not in proc.stderr  # not a terminal: no progress bar


def test_backtest_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    data = candle_file(tmp_path, bars=400)
    leader, follower = pty.openpty()
    try:
        proc = run_cli(*BACKTEST, "--data", str(data), stderr=follower)
        os.close(follower)
        follower = -1
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: everything was read
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["bars"] == 400
    assert b"400/400 bars" in terminal and b"100.0%" in terminal


def test_progress_bar_redraws_in_place_and_wipes_itself() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar(25, 100)
    bar(100, 100)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r[########") and " 25.0%  25/100 bars" in text
    assert "[" + "#" * 30 + "] 100.0%  100/100 bars" in text
    assert text.endswith("\r") and "\n" not in text


def test_stored_runs_are_listed_shown_and_compared(tmp_path: Path) -> None:
    data_dir = tmp_path / "station"
    data_dir.mkdir()
    database = Database(sqlite_url(data_dir / "task-station.db"))
    database.upgrade()
    first = BacktestRun(
        id="run-a", created_at=datetime(2025, 1, 1, tzinfo=UTC), status=RunStatus.FINISHED,
        strategy="sma_cross", params={"fast": 5, "slow": 20}, symbol="BTC/USDT",
        timeframe="1h", data_source="file:/x.parquet", bars=400, cash=Decimal(10000),
        fee_bps=Decimal(10), progress=1.0, final_equity=Decimal("10250.125"), trade_count=8,
        metrics={"sharpe": 1.25, "total_return": "0.025"},
    )  # fmt: skip
    second = replace(first, id="run-b", created_at=datetime(2025, 1, 2, tzinfo=UTC),
                     params={"fast": 10, "slow": 20}, final_equity=Decimal("9900"),
                     metrics={"sharpe": -0.5, "total_return": "-0.01"})  # fmt: skip
    store = SqlBacktestRunStore.on(database)
    store.add(first)
    store.add(second)
    database.dispose()
    env = {"TASK_DATA_DIR": str(data_dir)}

    listed = run_cli("backtests", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "STRATEGY", "SYMBOL", "TF", "BARS", "EQUITY",
                                "TRADES"]  # fmt: skip
    assert lines[1].split()[:2] == ["run-b", "finished"] and "10250.125" in lines[2]
    assert lines[-1] == "2 run(s)"

    shown = json.loads(run_cli("backtests", "show", "run-a", env=env).stdout)
    assert shown["final_equity"] == "10250.125" and shown["params"] == {"fast": 5, "slow": 20}

    compared = run_cli("backtests", "compare", "run-a", "run-b", "--json", env=env)
    rows = {r["name"]: r["values"] for r in json.loads(compared.stdout)["rows"]}
    assert rows["fast"] == [5, 10] and rows["final_equity"] == ["10250.125", "9900"]
    assert rows["sharpe"] == [1.25, -0.5]

    missing = run_cli("backtests", "report", "run-a", str(tmp_path / "r.html"), env=env)
    assert missing.returncode == 2 and "run-a has no report" in missing.stderr
