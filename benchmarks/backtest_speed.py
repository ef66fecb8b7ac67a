"""Event-driven backtest throughput of the foundation engine.

Runs sma_cross through the full engine (strategy sandbox, order manager, paper venue,
portfolio, exact Decimal money) and prints a table. Uses the team's real BTC/USDT 1h
series when ../shared/data is present, else a synthetic market of the same length.

    .venv/bin/python benchmarks/backtest_speed.py
"""

from __future__ import annotations

import asyncio
import resource
import time
from decimal import Decimal
from pathlib import Path

from task_station.backtest.runner import BacktestConfig, run_backtest
from task_station.domain.instruments import Instrument
from task_station.marketdata.candle_files import frame_to_candles, read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame

SHARED = Path(__file__).resolve().parents[2] / "shared/data/candles/binance/BTC_USDT-1h.parquet"


def main() -> None:
    t0 = time.perf_counter()
    if SHARED.exists():
        frame, source = read_frame(SHARED), "binance BTC/USDT 1h (real)"
    else:
        frame, source = generate_frame(SyntheticMarketSpec(bars=52_106)), "synthetic 1h"
    candles = frame_to_candles(frame)
    load_s = time.perf_counter() - t0
    rows = []
    for fast, slow, fee in ((10, 30, "0"), (5, 20, "0.001"), (50, 200, "0.001")):
        config = BacktestConfig(
            strategy="sma_cross",
            params={"fast": fast, "slow": slow},
            candles=candles,
            instrument=Instrument.from_symbol("BTC/USDT"),
            timeframe="1h",
            cash=Decimal(100_000),
            maker_fee=Decimal(fee),
            taker_fee=Decimal(fee),
        )
        t1 = time.perf_counter()
        result = asyncio.run(run_backtest(config))
        run_s = time.perf_counter() - t1
        rows.append((f"sma_cross {fast}/{slow} fee {fee}", len(candles), result.trade_count, run_s))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"data: {source}, {len(candles)} bars, load+decimal conversion {load_s:.2f} s")
    print(f"{'run':<28}{'bars':>8}{'fills':>8}{'seconds':>10}{'bars/s':>12}")
    for name, bars, fills, secs in rows:
        print(f"{name:<28}{bars:>8}{fills:>8}{secs:>10.2f}{bars / secs:>12,.0f}")
    print(f"peak RSS: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
