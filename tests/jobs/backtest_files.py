"""Candle files and trader strategy files for the backtest-run tests."""

from __future__ import annotations

from pathlib import Path

from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from tests.support.user_strategy import write_strategy

#: A strategy that takes its time on every bar (and says which process runs it), so a
#: run is still going when a test cancels or kills it.
SLOW = """\
import os
import time
from pathlib import Path

from task_station.strategies.base import Strategy
from task_station.strategies.params import Param


class Slow(Strategy):
    name = "slow"
    description = "sleeps on every bar"
    params = (Param("pid_file", str, "", "where to write the worker's pid"),)

    def on_start(self, ctx):
        if self.p["pid_file"]:
            Path(self.p["pid_file"]).write_text(str(os.getpid()))

    def on_bar(self, ctx, candle):
        time.sleep(0.0005)
"""

#: A strategy whose code fails on its tenth bar, or kills its own worker process.
FAULTY = """\
import os
import signal

from task_station.strategies.base import Strategy
from task_station.strategies.params import Param


class Faulty(Strategy):
    name = "faulty"
    description = "fails on bar 10"
    params = (Param("kill", bool, False, "kill the process instead of raising"),)

    def on_bar(self, ctx, candle):
        self.seen = getattr(self, "seen", 0) + 1
        if self.seen == 10:
            if self.p["kill"]:
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("my indicator divided by zero")
"""


def candle_file(folder: Path, bars: int = 600, seed: int = 7) -> Path:
    """Synthetic hourly BTC/USDT candles as a Parquet file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"BTC_USDT-1h-{bars}-{seed}.parquet"
    generate_frame(SyntheticMarketSpec(seed=seed, bars=bars)).to_parquet(path)
    return path


def add_user_strategies(folder: Path) -> None:
    write_strategy(folder, SLOW, "slow.py")
    write_strategy(folder, FAULTY, "faulty.py")
