"""``task-station data``: download from the loopback simulator (real ccxt, real process),
import files, list what is stored, as a trader runs them."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import run_cli
from tests.marketdata.store_fixtures import BARS, START_MS, history_frame, start_simulator


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    """The simulator on its own event loop in a thread, for CLI processes to reach."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start_simulator(), loop).result(timeout=30)
    try:
        yield server.url
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def env(tmp_path: Path, simulator_url: str) -> dict[str, str]:
    return {"TASK_DATA_DIR": str(tmp_path / "station"), "TASK_SIMULATOR_URL": simulator_url}


def run_on_terminal(
    *args: str, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], bytes]:
    """Run the CLI with stderr on a pseudo-terminal (where the progress bar is drawn)."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "task_station", *args],
            stdout=subprocess.PIPE, stderr=follower, text=True, timeout=120,
            env={**os.environ, **env},
        )  # fmt: skip
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
    return proc, terminal


def test_download_shows_progress_then_list_shows_the_series(env: dict[str, str]) -> None:
    since = "2023-01-31T20:00"
    proc, terminal = run_on_terminal("data", "download", "simulator", "BTC/USDT", "1m",
                                     "--since", since, env=env)  # fmt: skip
    assert proc.returncode == 0, terminal.decode(errors="replace")
    assert f"{BARS}/{BARS} bars" in terminal.decode() and "100.0%" in terminal.decode()
    assert "simulator BTC/USDT 1m 2023-01-31 20:00 -> " in proc.stdout
    assert f"{BARS} bars written" in proc.stdout
    listed = run_cli("data", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [series] = json.loads(listed.stdout)
    assert (series["venue"], series["symbol"], series["timeframe"]) == (
        "simulator",
        "BTC/USDT",
        "1m",
    )
    assert (series["rows"], series["first_ms"], series["gaps"]) == (BARS, START_MS, [])


def test_import_then_a_bad_file_is_refused_and_the_table_lists_gaps(
    tmp_path: Path, env: dict[str, str]
) -> None:
    frame = history_frame()
    good = tmp_path / "eth.csv"
    frame.drop(index=range(100, 110)).to_csv(good, index=False)
    done = run_cli("data", "import", str(good), "--venue", "binance", "--symbol", "ETH/USDT",
                   "--timeframe", "1m", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"binance ETH/USDT 1m: imported {BARS - 10} bars" in done.stdout
    bad = tmp_path / "bad.csv"
    frame.iloc[:5].assign(high=0.5).to_csv(bad, index=False)
    refused = run_cli("data", "import", str(bad), "--venue", "binance", "--symbol", "ETH/USDT",
                      "--timeframe", "1m", env=env)  # fmt: skip
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "error: bad.csv: row 1 is not a valid candle" in refused.stderr
    table = run_cli("data", "list", env=env)
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["KIND", "VENUE", "SYMBOL", "TF"]
    assert "binance" in lines[1] and str(BARS - 10) in lines[1] and "1 (10 bars)" in lines[1]
    assert (
        "gap 2023-01-31 21:40 -> 2023-01-31 21:50 UTC: 10 bars (not downloaded yet)" in table.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["simulator", "DOGE/USDT", "1m", "--since", "2023-02-01"],
            "simulator has no market 'DOGE/USDT'",
        ),
        (
            ["simulator", "BTC/USDT", "1m", "--since", "2023-02-01", "--until", "2023-01-01"],
            "the end of the range must come after its start",
        ),
        (["simulator", "BTC/USDT", "1m", "--since", "last week"], "is not a date; use YYYY-MM-DD"),
    ],
)
def test_download_mistakes_exit_2_with_a_clear_message(
    env: dict[str, str], args: list[str], message: str
) -> None:
    proc = run_cli("data", "download", *args, env=env)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
