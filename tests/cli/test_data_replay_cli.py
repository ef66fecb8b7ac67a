"""``task-station data replay``: stored bars printed as a live feed would publish them."""

from __future__ import annotations

from pathlib import Path

from task_station.marketdata.store import MarketStore
from tests.cli.test_cli import run_cli
from tests.marketdata.store_fixtures import history_frame


def test_replay_prints_each_closed_bar_in_order_then_a_summary(tmp_path: Path) -> None:
    env = {"TASK_DATA_DIR": str(tmp_path / "station")}
    store = MarketStore(tmp_path / "station" / "market")
    store.write_candles("binance", "ETH/USDT", "1m", history_frame(5))
    done = run_cli("data", "replay", "binance:ETH/USDT", "1m", "--start", "2023-01-31T20:02",
                   env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # the replay clock starts at 20:02: the first event is the bar that closed then
    assert [line.split(" bar ")[1][:5] for line in lines] == ["20:01", "20:02", "20:03", "20:04"]
    assert lines[0].startswith("2023-01-31 20:02:00 binance:ETH/USDT 1m bar 20:01 O ")
    assert "replay finished: 4 events" in done.stderr
    missing = run_cli("data", "replay", "binance:BTC/USDT", "1m", env=env)
    assert missing.returncode != 0 and "download or record it first" in missing.stderr
