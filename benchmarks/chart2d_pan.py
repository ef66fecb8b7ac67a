"""Frames per second of the 2D candle chart panning over a long history.

Builds the real ``CandleChart`` with ``--candles`` seeded random-walk one-minute bars
and pans it (the x range moves by a tenth of a window a frame), forcing each frame
with ``grab()``, at three zooms: the whole history (level of detail paints merged bars),
a 5,000-candle window and a 300-candle window. Also times a live append (a new bar a
frame while the view follows the newest bars).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/chart2d_pan.py --candles 1000000
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from PySide6.QtWidgets import QApplication


def walk(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    x = 1_600_000_000 + np.arange(n, dtype=float) * 60.0
    spread = np.abs(rng.normal(0, 0.0005, n))
    return np.column_stack(
        (
            x,
            open_,
            np.maximum(open_, close) * (1 + spread),
            np.minimum(open_, close) * (1 - spread),
            close,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candles", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    from task_station.gui.chart import CandleChart
    from task_station.gui.theme import apply_theme

    apply_theme(app)
    width, height = (int(v) for v in args.size.split("x"))
    chart = CandleChart()
    chart.resize(width, height)
    chart.show()
    rows = walk(args.candles)
    t0 = time.perf_counter()
    item = chart._candles
    item.set_data(rows)
    load_ms = (time.perf_counter() - t0) * 1000
    x = rows[:, 0]
    print(f"{args.candles:,} candles, {width}x{height}, loaded in {load_ms:.0f} ms")
    print(f"{'zoom':<14} {'candles in view':>15} {'level':>6} {'fps':>7} {'p99 ms':>7}")
    for name, span in (("whole", len(x) - 1), ("5,000 bars", 5_000), ("300 bars", 300)):
        lo = 0 if span >= len(x) - 1 else len(x) // 2
        left, right = x[lo], x[min(lo + span, len(x) - 1)]
        step = (right - left) / 10
        times: list[float] = []
        t_end = time.perf_counter() + args.seconds
        k = 0
        while time.perf_counter() < t_end:
            shift = step * (k % 20 - 10) if name == "whole" else step * k
            chart.plot.setXRange(left + shift, right + shift, padding=0)
            t = time.perf_counter()
            chart.grab()
            times.append(time.perf_counter() - t)
            k += 1
        arr = np.array(times)
        print(
            f"{name:<14} {span:>15,} {item.painted_level:>6} {len(arr) / arr.sum():>7.1f} "
            f"{np.percentile(arr, 99) * 1000:>7.1f}"
        )
    # live: a new bar each frame while following the newest 300
    more = walk(args.candles + 100_000)[args.candles :]
    more[:, 0] = x[-1] + 60.0 * np.arange(1, len(more) + 1)
    times = []
    t_end = time.perf_counter() + args.seconds
    k = 0
    while time.perf_counter() < t_end:
        t = time.perf_counter()
        item.append(more[k])
        chart.plot.setXRange(more[k, 0] - 300 * 60, more[k, 0], padding=0)
        chart.grab()
        times.append(time.perf_counter() - t)
        k += 1
    arr = np.array(times)
    print(
        f"{'live append':<14} {300:>15,} {item.painted_level:>6} {len(arr) / arr.sum():>7.1f} "
        f"{np.percentile(arr, 99) * 1000:>7.1f}"
    )
    chart.close()


if __name__ == "__main__":
    main()
