"""``task-station strategies`` and ``backtest`` see the trader's files in DATA_DIR."""

from __future__ import annotations

import json
from pathlib import Path

from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from tests.cli.test_cli import run_cli
from tests.support.user_strategy import BROKEN, hold, write_strategy


def test_list_names_origins_and_broken_files(tmp_path: Path) -> None:
    env = {"TASK_DATA_DIR": str(tmp_path)}
    write_strategy(tmp_path / "strategies", hold())
    write_strategy(tmp_path / "strategies", BROKEN, "broken.py")
    table = run_cli("strategies", env=env)
    assert table.returncode == 0, table.stderr
    assert "my_hold" in table.stdout and "your file my_hold.py" in table.stdout
    assert "sma_cross" in table.stdout and "built-in" in table.stdout
    assert "not loaded: broken.py:4: syntax error" in table.stderr
    listed = json.loads(run_cli("strategies", "--json", env=env).stdout)
    mine = {s["name"]: s for s in listed["strategies"]}["my_hold"]
    assert (mine["origin"], mine["params"]) == ("user", {"delay": "0"})
    assert listed["errors"] == ["broken.py:4: syntax error: expected ':'"]


def test_backtest_runs_a_user_strategy(tmp_path: Path) -> None:
    data = tmp_path / "BTC_USDT-1h.parquet"
    generate_frame(SyntheticMarketSpec(seed=2)).to_parquet(data)
    write_strategy(tmp_path / "strategies", hold("0.5"))
    done = run_cli(
        "backtest", "--strategy", "my_hold", "--data", str(data), "--cash", "1000",
        env={"TASK_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["strategy"] == "my_hold" and result["trade_count"] == 1
