"""The command line as a user runs it: real subprocesses, real files, real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "task_station", *args],
        capture_output=True, text=True, timeout=240, input=stdin,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def station_env(tmp_path: Path) -> dict[str, str]:
    return {
        "TASK_DATA_DIR": str(tmp_path / "station"),
        "TASK_KEYRING_BACKEND": "cryptfile",
        "TASK_KEYRING_PASSWORD": "cli-vault-password",
        "TASK_BCRYPT_ROUNDS": "4",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope", "--cash", "1000"], "unknown strategy 'nope'"),
        (["--strategy", "sma_cross", "--param", "fats=3", "--cash", "1000"], "unknown parameter"),
        (["--strategy", "sma_cross", "--cash", "-5"], "starting cash must be positive"),
        (["--strategy", "sma_cross", "--cash", "lots"], "cash 'lots' is not a number"),
    ],
)
def test_backtest_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    data = tmp_path / "c.csv"
    data.write_text("timestamp,open,high,low,close,volume\n0,1,2,0.5,1,3\n3600000,1,2,0.5,1.5,3\n")
    proc = run_cli("backtest", "--data", str(data), *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


def test_backtest_on_malformed_file_names_the_row(tmp_path: Path) -> None:
    data = tmp_path / "broken.csv"
    data.write_text("timestamp,open,high,low,close,volume\n0,1,2,0.5,1,3\n3600000,1,0.5,2,1.5,3\n")
    proc = run_cli("backtest", "--strategy", "sma_cross", "--data", str(data), "--cash", "100")
    assert proc.returncode == 2
    assert "broken.csv: row 2 is not a valid candle" in proc.stderr


def test_db_upgrade_then_first_admin_then_second_refused(station_env: dict[str, str]) -> None:
    up = run_cli("db", "upgrade", env=station_env)
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() not in ("", "base")
    first = run_cli("user", "create", "--username", "Alice", "--role", "admin", "--password-stdin",
                    env=station_env, stdin="correct-horse-battery\n")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "created admin alice" in first.stdout
    assert "correct-horse-battery" not in first.stdout + first.stderr
    second = run_cli(
        "user",
        "create",
        "--username",
        "bob",
        "--password-stdin",
        env=station_env,
        stdin="another-password\n",
    )
    assert second.returncode == 2
    assert "users already exist" in second.stderr


def test_first_user_with_weak_password_is_refused(station_env: dict[str, str]) -> None:
    proc = run_cli(
        "user",
        "create",
        "--username",
        "al",
        "--role",
        "admin",
        "--password-stdin",
        env=station_env,
        stdin="short\n",
    )
    assert proc.returncode == 2
    assert "at least 8 characters" in proc.stderr


def test_serve_demo_runs_bots_headless_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "TASK_DEMO_PACE_SECONDS": "0.01", "TASK_API_PORT": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "task_station", "serve", "--demo"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url_line = proc.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", url_line)
        assert url, url_line
        login_line = proc.stdout.readline()
        password = login_line.rsplit(" ", 1)[-1].strip()
        with httpx.Client(base_url=url.group(0), timeout=10) as client:
            assert client.get("/health").status_code == 200
            token = client.post(
                "/auth/login", json={"username": "demo", "password": password}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            bots = client.get("/bots", headers=headers).json()
            assert len(bots) == 3
            assert {b["status"] for b in bots} <= {"running", "finished"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert password not in err


def test_arbitrage_backtest_on_the_demo_market_writes_json(tmp_path: Path) -> None:
    import json

    from task_station.cli import main

    out = tmp_path / "arb.json"
    code = main(
        [
            "arbitrage-backtest",
            "--strategy", "cex_dex",
            "--demo-seed", "3", "--demo-steps", "500",
            "--param", "symbol=ETH/USDC", "--param", "dex_symbol=WETH/USDC",
            "--balance", "cex:USDC=100000", "--balance", "cex:ETH=10",
            "--balance", "dex:USDC=100000", "--balance", "dex:WETH=10",
            "--fee-bps", "cex=10",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    assert data["snapshots"] == 500
    assert data["trade_count"] > 0 and data["outcomes"] == {"completed": data["trade_count"]}
