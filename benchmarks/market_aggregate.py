"""Throughput of trade -> candle aggregation and candle resampling.

Vectorized (numpy, for history) on float64 and on exact scaled int64 columns, and
incremental (exact Decimal, one trade or candle at a time, as the live path runs).
The trades are a seeded random walk on a 0.01 tick with real-looking timing (a few
trades a second, bursts); the real Binance XRP/ETH trade file is aggregated too when
../shared/data is there. Best of three runs; prints a table.

    .venv/bin/python benchmarks/market_aggregate.py [--trades 5000000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from task_station.marketdata.aggregate import (
    CandleArrays,
    CandleBuilder,
    CandleResampler,
    aggregate_trades,
    resample,
    scaled,
)

SHARED = Path(__file__).resolve().parents[2] / "shared/data"
START_MS = 1_700_000_000_000


@dataclass(frozen=True, slots=True)
class Row:
    case: str
    inputs: int
    outputs: int
    seconds: float


def best_of(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    best, out = float("inf"), 0
    for _ in range(runs):
        t = time.perf_counter()
        out = work()
        best = min(best, time.perf_counter() - t)
    return best, out


def synthetic_trades(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(250.0, n).astype(np.int64)  # ~4 trades a second
    ts = START_MS + np.cumsum(gaps)
    ticks = 3_000_000 + np.cumsum(rng.integers(-2, 3, n))  # price in cents
    price = ticks / 100.0
    amount = np.round(rng.lognormal(-4.0, 1.2, n), 6)
    return ts, price, amount


def vectorized(rows: list[Row], n: int) -> CandleArrays:
    ts, price, amount = synthetic_trades(n)
    price_i, amount_i = scaled(price, 2), scaled(amount, 6)
    seconds = aggregate_trades(ts, price, amount, "1s")
    for tf in ("1s", "1m", "1h", "1d"):
        secs, out = best_of(3, lambda tf=tf: len(aggregate_trades(ts, price, amount, tf)))
        rows.append(Row(f"trades -> {tf}, numpy float64", n, out, secs))
    for tf in ("1m", "1h"):
        secs, out = best_of(3, lambda tf=tf: len(aggregate_trades(ts, price_i, amount_i, tf)))
        rows.append(Row(f"trades -> {tf}, numpy int64 exact", n, out, secs))
    return seconds


def real_file(rows: list[Row]) -> None:
    path = SHARED / "ticks/binance/XRP_ETH-trades.parquet"
    if not path.exists():
        return
    import pandas as pd

    frame = pd.read_parquet(path)
    ts = frame["timestamp"].to_numpy()
    price, amount = scaled(frame["price"], 8), scaled(frame["amount"], 0)
    secs, out = best_of(3, lambda: len(aggregate_trades(ts, price, amount, "1m")))
    rows.append(Row("real XRP/ETH trades -> 1m, int64", len(frame), out, secs))

    def exact() -> int:
        builder = CandleBuilder("1m")
        closed = 0
        for t, p, a in zip(ts.tolist(), price.tolist(), amount.tolist(), strict=True):
            closed += builder.add(t, Decimal(p).scaleb(-8), Decimal(a)) is not None
        return closed + 1

    secs, out = best_of(3, exact)
    rows.append(Row("real XRP/ETH trades -> 1m, live Decimal", len(frame), out, secs))


def incremental(rows: list[Row], n: int) -> None:
    ts, price, amount = synthetic_trades(n, seed=11)
    trades = [
        (t, Decimal(p).scaleb(-2), Decimal(a).scaleb(-6))
        for t, p, a in zip(
            ts.tolist(), scaled(price, 2).tolist(), scaled(amount, 6).tolist(), strict=True
        )
    ]
    for tf in ("1s", "1m"):

        def run(tf: str = tf) -> int:
            builder = CandleBuilder(tf)
            closed = sum(builder.add(*t) is not None for t in trades)
            return closed + (builder.forming is not None)

        secs, out = best_of(3, run)
        rows.append(Row(f"trades -> {tf}, live Decimal", n, out, secs))


def resampling(rows: list[Row], bars: CandleArrays) -> None:
    n = len(bars)
    for tf in ("1m", "1h", "1d", "1w", "1M"):
        secs, out = best_of(3, lambda tf=tf: len(resample(bars, tf)))
        rows.append(Row(f"1s candles -> {tf}, numpy", n, out, secs))
    candles = bars.to_candles()[:200_000]

    def live() -> int:
        res = CandleResampler("1m")
        return sum(res.add(c) is not None for c in candles) + 1

    secs, out = best_of(3, live)
    rows.append(Row("1s candles -> 1m, live Decimal", len(candles), out, secs))


def print_table(rows: list[Row]) -> None:
    head = f"{'case':<40} {'in':>10} {'out':>9} {'seconds':>9} {'in/s':>14} {'candles/s':>12}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.case:<40} {r.inputs:>10,} {r.outputs:>9,} {r.seconds:>9.4f} "
            f"{r.inputs / r.seconds:>14,.0f} {r.outputs / r.seconds:>12,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=5_000_000, help="vectorized trade count")
    parser.add_argument("--live", type=int, default=200_000, help="live (Decimal) trade count")
    args = parser.parse_args()
    rows: list[Row] = []
    seconds = vectorized(rows, args.trades)
    real_file(rows)
    incremental(rows, args.live)
    resampling(rows, seconds)
    print("in/s: trades per second (candles per second when resampling)\n")
    print_table(rows)


if __name__ == "__main__":
    main()
