"""A writer killed with SIGKILL at random moments never leaves the store unreadable, and
the next download completes what it was writing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from task_station.marketdata.store import MarketStore
from task_station.venues.simulator.server import SimulatorServer
from tests.marketdata.store_fixtures import (
    BARS,
    START,
    START_MS,
    SYMBOL,
    VENUE,
    assert_same_bars,
    history_frame,
    make_service,
    simulator,
)

__all__ = ["simulator"]

REPO = Path(__file__).resolve().parents[2]
#: Writes most of the venue's history (not its last 400 bars) in overlapping chunks, over
#: and over, until killed.
WRITER = """
import sys
from pathlib import Path
from task_station.marketdata.store import MarketStore
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

root, venue, symbol, bars, start_ms = sys.argv[1:]
spec = SyntheticMarketSpec(seed=5, bars=int(bars) + 1, timeframe="1m", start_ms=int(start_ms))
store, frame = MarketStore(Path(root)), generate_frame(spec).iloc[: int(bars) - 400]
print("ready", flush=True)
while True:
    for start in range(0, len(frame), 300):
        store.write_candles(venue, symbol, "1m", frame.iloc[start : start + 450])
"""


def check_readable_and_true(root: Path) -> int:
    """The store reads, and every stored bar is the venue's bar (no torn values)."""
    store = MarketStore(root)
    frame = history_frame().set_index("timestamp")
    bars = store.read_candles(VENUE, SYMBOL, "1m")
    assert np.all(np.diff(bars.ts) > 0)
    expected = frame.loc[bars.ts]
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(bars, name), expected[name].to_numpy())
    assert sum(s.rows for s in store.inventory()) == len(bars)
    return len(bars)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_sigkill_mid_write_leaves_a_readable_store_that_a_download_completes(
    tmp_path: Path, simulator: SimulatorServer
) -> None:
    root = tmp_path / "market"
    rng = random.Random(11)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for _ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), VENUE, SYMBOL, str(BARS), str(START_MS)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.5))  # somewhere in a write, most likely
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        check_readable_and_true(root)
    service, _ = make_service(tmp_path / "market", simulator.url)
    result = await service.download(VENUE, SYMBOL, "1m", START)
    assert result.complete and not result.gaps and result.bars_written >= 400
    assert_same_bars(service.read(VENUE, SYMBOL, "1m"), history_frame())
    assert not list(root.rglob("*.tmp"))  # the download's writes cleaned the leftovers
