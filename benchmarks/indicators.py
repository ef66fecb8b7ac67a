"""Updates per second of each incremental indicator, next to its vectorized twin.

Run: ``.venv/bin/python benchmarks/indicators.py [--bars N] [--real]``. Bars come from
the seeded synthetic market (100k 1h bars by default) or, with ``--real``, from the
team's Binance BTC/USDT 1h file (52k bars). Candles are built before the clock starts;
the incremental rows include converting each ``Decimal`` field to float inside
``update`` (that is part of an indicator's cost), the vectorized rows start from float
columns. Best of three runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from task_station.domain.candles import Candle
from task_station.marketdata.candle_files import frame_to_candles, read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.strategies import ta
from task_station.strategies.ta import vectorized as vec

SHARED = Path(__file__).resolve().parents[2] / "shared/data/candles/binance/BTC_USDT-1h.parquet"

# name, incremental factory, reads closes only, vectorized call
Row = tuple[str, Callable[[], Any], bool, Callable[[pd.DataFrame], object]]
ROWS: list[Row] = [
    ("SMA(20)", lambda: ta.SMA(20), True, lambda f: vec.sma(f["close"], 20)),
    ("EMA(20)", lambda: ta.EMA(20), True, lambda f: vec.ema(f["close"], 20)),
    ("WMA(20)", lambda: ta.WMA(20), True, lambda f: vec.wma(f["close"], 20)),
    ("RSI(14)", lambda: ta.RSI(14), True, lambda f: vec.rsi(f["close"], 14)),
    ("MACD(12,26,9)", lambda: ta.MACD(), True, lambda f: vec.macd(f["close"])),
    ("Bollinger(20,2)", lambda: ta.BollingerBands(), True, lambda f: vec.bollinger(f["close"])),
    ("ATR(14)", lambda: ta.ATR(14), False, lambda f: vec.atr(f, 14)),
    ("ADX(14)", lambda: ta.ADX(14), False, lambda f: vec.adx(f, 14)),
    ("Stochastic(14,3,3)", lambda: ta.Stochastic(), False, lambda f: vec.stochastic(f)),
    ("Donchian(20)", lambda: ta.DonchianChannel(20), False, lambda f: vec.donchian(f, 20)),
    ("Keltner(20,10,2)", lambda: ta.KeltnerChannel(), False, lambda f: vec.keltner(f)),
    (
        "VWAP (UTC day)",
        lambda: ta.VWAP(reset_utc_day=True),
        False,
        lambda f: vec.vwap(f, reset_utc_day=True),
    ),
    ("RollingVWAP(20)", lambda: ta.RollingVWAP(20), False, lambda f: vec.rolling_vwap(f, 20)),
    ("SuperTrend(10,3)", lambda: ta.SuperTrend(), False, lambda f: vec.supertrend(f)),
    ("OBV", lambda: ta.OBV(), False, lambda f: vec.obv(f)),
    ("Ichimoku(9,26,52)", lambda: ta.Ichimoku(), False, lambda f: vec.ichimoku(f)),
]


def time_incremental(make: Callable[[], Any], inputs: list[Any]) -> float:
    indicator = make()
    update = indicator.update
    start = time.perf_counter()
    for x in inputs:
        update(x)
    return time.perf_counter() - start


def time_vectorized(run: Callable[[pd.DataFrame], object], frame: pd.DataFrame) -> float:
    start = time.perf_counter()
    run(frame)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--real", action="store_true", help="use the shared BTC/USDT 1h file")
    args = parser.parse_args()
    if args.real:
        frame, source = read_frame(SHARED), "binance BTC/USDT 1h (real)"
    else:
        frame, source = generate_frame(SyntheticMarketSpec(bars=args.bars)), "synthetic 1h"
    candles: list[Candle] = frame_to_candles(frame)
    closes = [c.close for c in candles]
    n = len(candles)
    print(f"data: {source}, {n} bars")
    print(f"{'indicator':<20} {'incr. s':>8} {'updates/s':>11} {'vector s':>9} {'bars/s':>13}")
    for label, make, closes_only, run in ROWS:
        inputs: list[Any] = closes if closes_only else candles
        incremental = min(time_incremental(make, inputs) for _ in range(3))
        vectorized = min(time_vectorized(run, frame) for _ in range(3))
        print(
            f"{label:<20} {incremental:>8.3f} {n / incremental:>11,.0f} "
            f"{vectorized:>9.4f} {n / vectorized:>13,.0f}"
        )


if __name__ == "__main__":
    main()
