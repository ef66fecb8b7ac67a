"""Write and read speed of the Parquet market store.

Run: ``.venv/bin/python benchmarks/market_store.py [--symbols N] [--root DIR]``. Writes
N symbols (19 by default: 9,986,400 candles, about 10 million) of one year of 1m bars
each into a fresh store, then reads them back. The bars are the seeded synthetic market
(one year generated once, written under every symbol). Timed rows:

- bulk write: one ``write_candles`` call per symbol (12 monthly files each, fsynced);
- download-sized appends: 20,000 bars at a time merged into a growing series, as
  ``data download`` flushes them;
- read all: every series read whole;
- read one year: 525,600 1m bars of one symbol (median of 9 reads; the target is
  under 100 ms), and a one-day range read inside it (median of 50);
- inventory: every series with its gaps.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from task_station.marketdata.store import MarketStore
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

YEAR_1M = 525_600
DAY_MS = 86_400_000
START_MS = 1_672_531_200_000  # 2023-01-01 UTC


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def median_of(call: Callable[[], object], runs: int) -> float:
    return statistics.median(timed(call) for _ in range(runs))


def row(name: str, rows: int, seconds: float, note: str = "") -> None:
    rate = f"{rows / seconds:,.0f}" if seconds > 0 else "-"
    print(f"{name:<34} {rows:>12,} {seconds * 1000:>11.1f} {rate:>14}  {note}")


def run(root: Path, symbols: int) -> None:
    store = MarketStore(root)
    frame = generate_frame(SyntheticMarketSpec(seed=7, bars=YEAR_1M, timeframe="1m",
                                               start_ms=START_MS))  # fmt: skip
    names = [f"S{i:02d}/USDT" for i in range(symbols)]
    print(f"store: {root}; {symbols} symbols x {YEAR_1M:,} 1m bars = {symbols * YEAR_1M:,}")
    print(f"{'operation':<34} {'rows':>12} {'ms':>11} {'rows/s':>14}  note")

    total = symbols * YEAR_1M
    seconds = 0.0
    for name in names:
        seconds += timed(partial(store.write_candles, "bench", name, "1m", frame))
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    row("bulk write (1 call per symbol)", total, seconds, f"{size / total:.1f} bytes/bar on disk")

    batch = 20_000
    appends = [frame.iloc[a : a + batch] for a in range(0, 10 * batch, batch)]
    seconds = 0.0
    for part in appends:
        seconds += timed(partial(store.write_candles, "bench", "APPEND/USDT", "1m", part))
    row("download-sized appends (20k bars)", 10 * batch, seconds,
        f"{seconds / len(appends) * 1000:.1f} ms per flush")  # fmt: skip

    seconds = 0.0
    for name in names:
        seconds += timed(partial(store.read_candles, "bench", name, "1m"))
    row("read all, whole series", total, seconds)

    year = median_of(lambda: store.read_candles("bench", names[0], "1m"), 9)
    verdict = "OK" if year < 0.1 else "over the 100 ms target"
    row("read one year of 1m (median of 9)", YEAR_1M, year, verdict)

    day_start = START_MS + 200 * DAY_MS
    day = median_of(lambda: store.read_candles("bench", names[0], "1m", day_start,
                                               day_start + DAY_MS), 50)  # fmt: skip
    row("read one day of 1m (median of 50)", 1_440, day)

    found: list[object] = []
    seconds = timed(lambda: found.extend(store.inventory()))
    row("inventory with gaps", len(found), seconds, "rows = series")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=19)
    parser.add_argument("--root", type=Path, default=None, help="store here (kept)")
    args = parser.parse_args()
    if args.root is not None:
        run(args.root, args.symbols)
        return
    tmp = Path(tempfile.mkdtemp(prefix="market-store-bench-"))
    try:
        run(tmp / "market", args.symbols)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
