"""Frames per second of the 3D depth-candle chart, with its level of detail.

Runs the real ``DepthCandleChart`` on a real GL context (an X display: Xvfb with Mesa's
llvmpipe gives the software-rendered floor; a GPU machine gives the real figure), on
seeded random-walk candles, and times frames with ``grabFramebuffer`` (it waits for the
GPU, so llvmpipe cannot report frames it never drew) while the camera orbits:

- whole history in view (the LOD merges candles: at most ``--max-boxes`` boxes),
- zoomed in on the newest bars (full detail, a window of the history),
- live: one candle appended per frame (the forming bar's update path).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" \\
        .venv/bin/python benchmarks/chart3d_fps.py --candles 10000,100000
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QOpenGLContext
from PySide6.QtWidgets import QApplication


def walk(n: int, seed: int = 7):  # type: ignore[no-untyped-def]
    from task_station.gui.depth3d.geometry import CandleArrays

    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.001, n))
    return CandleArrays(
        np.arange(n, dtype=np.int64) * 60_000,
        open_,
        np.maximum(open_, close) * (1 + spread),
        np.minimum(open_, close) * (1 - spread),
        close,
        rng.gamma(2.0, 5.0, n),
    )


def fps(app: QApplication, view, seconds: float, step) -> float:  # type: ignore[no-untyped-def]
    frames = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step(frames)
        view.grabFramebuffer()
        app.processEvents()
        frames += 1
    return frames / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candles", default="10000,100000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--max-boxes", type=int, default=3000)
    parser.add_argument("--size", default="1280x800")
    args = parser.parse_args()
    if os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb" or not os.environ.get("DISPLAY"):
        sys.exit("run on an X display with QT_QPA_PLATFORM=xcb (see the docstring)")
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(sys.argv[:1])
    from task_station.gui.depth3d.chart import DepthCandleChart

    width, height = (int(v) for v in args.size.split("x"))
    chart = DepthCandleChart(max_boxes=args.max_boxes)
    chart.resize(width, height)
    chart.show()
    app.processEvents()
    view = chart.view
    view.grabFramebuffer()
    ctx = QOpenGLContext.currentContext() or view.context()
    from OpenGL import GL

    view.makeCurrent()
    renderer = GL.glGetString(GL.GL_RENDERER).decode()
    print(f"renderer: {renderer}; window {width}x{height}; max boxes {args.max_boxes}")
    print(
        f"{'candles':>9} {'view':<10} {'level':>5} {'boxes':>6} {'triangles':>9} {'fps':>7}  build"
    )
    del ctx
    for n in (int(v) for v in args.candles.split(",")):
        candles = walk(n)
        t0 = time.perf_counter()
        view.set_data(candles)
        build_ms = (time.perf_counter() - t0) * 1000
        rows: list[tuple[str, int, int, float]] = []
        view.opts["distance"] = n * 0.9  # the whole history across the window
        view.opts["center"].setX(n / 2)
        view.refresh(force=True)
        rate = fps(app, view, args.seconds, lambda i: view.orbit(0.5, 0))
        rows.append(("whole", view.level, view.drawn_boxes, rate))
        view.set_data(candles)  # back to the newest bars
        rate = fps(app, view, args.seconds, lambda i: view.orbit(0.5, 0))
        rows.append(("newest", view.level, view.drawn_boxes, rate))
        live = walk(n + 100_000, seed=8)
        rate = fps(
            app,
            view,
            args.seconds,
            lambda i, n=n, live=live: view.append(live.window(n + i, n + i + 1)),
        )
        rows.append(("live", view.level, view.drawn_boxes, rate))
        for name, level, boxes, value in rows:
            print(
                f"{n:>9,} {name:<10} {level:>5} {boxes:>6,} "
                f"{boxes * 12:>9,} {value:>7.1f}  {build_ms:.0f} ms"
            )
    chart.close()


if __name__ == "__main__":
    main()
