"""Render the real 3D chart on a real GL context and report what the pixels show.

Run in a subprocess with ``QT_QPA_PLATFORM=xcb`` on an X display (Xvfb in CI): GL
widgets cannot render on Qt's headless platforms. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication


def main() -> None:
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(sys.argv[:1])
    from task_station.gui.depth3d.chart import DepthCandleChart
    from task_station.gui.depth3d.geometry import CandleArrays

    # three tall candles, up / down / up, on a flat market so they dominate the view
    ts = [1_700_000_000_000 + i * 60_000 for i in range(3)]
    candles = CandleArrays.from_lists(
        ts, [100, 130, 105], [135, 132, 140], [98, 100, 104], [130, 102, 138], [5, 7, 6]
    )
    chart = DepthCandleChart(max_boxes=3000)
    chart.resize(800, 600)
    chart.set_data(candles)
    view = chart.view
    view.setCameraPosition(distance=90, elevation=10, azimuth=-90)
    chart.show()
    for _ in range(10):
        app.processEvents()
    image = view.grabFramebuffer()
    ratio = image.devicePixelRatio()
    centres = view.centres
    screen = view.project(centres)
    samples = []
    for x, y in screen:
        c = image.pixelColor(int(x * ratio), int(y * ratio))
        samples.append([c.red(), c.green(), c.blue()])
    hits = [view.candle_at(float(x), float(y)) for x, y in screen]
    readout = view.readout(1)
    corner = image.pixelColor(2, 2)

    # level of detail on a long history: far away merges, close up shows every candle
    n = 100_000
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    big = CandleArrays(
        np.arange(n, dtype=np.int64) * 60_000,
        open_,
        np.maximum(open_, close) * 1.001,
        np.minimum(open_, close) * 0.999,
        close,
        np.ones(n),
    )
    view.set_data(big)
    view.opts["distance"] = 60_000.0
    view.refresh()
    far = {"level": view.level, "boxes": view.drawn_boxes}
    view.opts["distance"] = 80.0
    view.refresh()
    near = {"level": view.level, "boxes": view.drawn_boxes, "built": list(view.built or ())}
    print(
        json.dumps(
            {
                "samples": samples,
                "screen": screen.tolist(),
                "hits": hits,
                "readout": readout,
                "background": [corner.red(), corner.green(), corner.blue()],
                "far": far,
                "near": near,
            }
        )
    )
    chart.close()
    app.quit()


if __name__ == "__main__":
    main()
