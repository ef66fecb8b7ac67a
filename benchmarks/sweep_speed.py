"""Parameter-sweep throughput of the vectorized fast path.

Sweeps 100 sma_cross (fast, slow) pairs over 1,000,000 seeded synthetic one-minute bars,
in one process and on every core, twice each, and prints a table. A pool's time
includes starting its workers and sending them the bars; the first pool of a process
also starts the fork server.

    .venv/bin/python benchmarks/sweep_speed.py [--bars N]
"""

from __future__ import annotations

import argparse
import os
import time

from task_station.backtest.sweep import SweepRow, sweep
from task_station.backtest.vectorized import Bars
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

GRID = {
    "fast": [5, 10, 15, 20, 25, 30, 35, 40, 45, 50],
    "slow": [60, 80, 100, 120, 140, 160, 180, 200, 220, 240],
}


def main() -> None:
    parser = argparse.ArgumentParser(description="sweep throughput")
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    bars = Bars.from_frame(
        generate_frame(SyntheticMarketSpec(seed=42, bars=args.bars, timeframe="1m"))
    )
    made = time.perf_counter() - t0
    print(f"data: {len(bars):,} synthetic 1m bars (seed 42), made in {made:.1f} s")
    pairs = len(GRID["fast"]) * len(GRID["slow"])
    print(f"{'pairs':>6}{'bars':>11}{'processes':>11}{'run':>7}{'seconds':>9}{'pair-bars/s':>14}")
    rows: list[SweepRow] = []
    for processes in sorted({1, os.cpu_count() or 1}):
        for run in ("first", "again"):
            t1 = time.perf_counter()
            rows = sweep("sma_cross", GRID, bars, cash=10_000, fee=0.001, processes=processes)
            secs = time.perf_counter() - t1
            assert len(rows) == pairs and all(r.error is None for r in rows)
            rate = pairs * len(bars) / secs
            print(f"{pairs:>6}{len(bars):>11,}{processes:>11}{run:>7}{secs:>9.2f}{rate:>14,.0f}")
    fills = sum(r.trade_count or 0 for r in rows)
    best = rows[0]
    print(
        f"{fills:,} fills per sweep; best: {best.params}, equity x{(best.final_equity or 0) / 10_000:.3g}"
    )


if __name__ == "__main__":
    main()
