"""Run the station on the benchmark's bars; print one JSON line (see backtest_peers.py).

.venv/bin/python benchmarks/peers/run_station.py event BARS.npz --fast 10 --slow 30
.venv/bin/python benchmarks/peers/run_station.py sweep BARS.npz --pairs 5/20,10/30,...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from decimal import Decimal

import numpy as np
import pandas as pd

from task_station.backtest.runner import BacktestConfig, run_backtest
from task_station.domain.bar_columns import BarColumns
from task_station.domain.instruments import Instrument


def load(path: str) -> pd.DataFrame:
    raw = np.load(path)
    return pd.DataFrame({name: raw[name] for name in raw.files})


def run_event(frame: pd.DataFrame, fast: int, slow: int, fee: str, cash: str) -> dict[str, object]:
    """The event-driven engine: strategy object, order manager, matching venue, Decimal book."""
    t0 = time.perf_counter()
    bars = BarColumns.from_frame(frame)
    config = BacktestConfig(
        strategy="sma_cross",
        params={"fast": fast, "slow": slow},
        candles=(),
        bars=bars,
        instrument=Instrument.from_symbol("BTC/USDT"),
        timeframe="1m",
        cash=Decimal(cash),
        maker_fee=Decimal(fee),
        taker_fee=Decimal(fee),
    )
    result = asyncio.run(run_backtest(config))
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "fills": result.trade_count,
        "final_equity": str(result.final_equity),
    }


def run_sweep(
    frame: pd.DataFrame, pairs: list[tuple[int, int]], fee: str, cash: str
) -> dict[str, object]:
    """The vectorized path: every pair on every core."""
    from task_station.backtest.sweep import sweep

    t0 = time.perf_counter()
    rows = sweep(
        "sma_cross",
        [{"fast": f, "slow": s} for f, s in pairs],
        frame,
        cash=Decimal(cash),
        fee=Decimal(fee),
    )
    seconds = time.perf_counter() - t0
    by_params = {(int(r.params["fast"]), int(r.params["slow"])): r for r in rows}
    ordered = [by_params[p] for p in pairs]
    return {
        "seconds": seconds,
        "final_equities": [float(r.final_equity) for r in ordered],
        "fills": [int(r.trade_count) for r in ordered],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["event", "sweep"])
    parser.add_argument("data")
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--fee", default="0")
    parser.add_argument("--cash", default="100000")
    parser.add_argument("--pairs", default="")
    args = parser.parse_args()
    frame = load(args.data)
    if args.mode == "event":
        out = run_event(frame, args.fast, args.slow, args.fee, args.cash)
    else:
        pairs = [(int(a), int(b)) for a, b in (p.split("/") for p in args.pairs.split(","))]
        out = run_sweep(frame, pairs, args.fee, args.cash)
    out["bars"] = len(frame)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
