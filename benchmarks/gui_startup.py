"""Start to a visible window, and tick-to-chart latency, of the real GUI.

Start-up: runs ``task-station --demo`` (interpreter start, imports, vault, database
migrations, the API sidecar, the demo bots, the main window) in a fresh process on
Qt's offscreen platform, ``--runs`` times, and reports when the splash (the first
window, shown before the heavy imports) and the main window first painted, counted
from the moment the process was spawned. The window is closed as soon
as it painted, which ends the process the normal way.

Tick to chart: in one process, publishes ``BarClosed`` events on the station's bus for
a bot shown in the chart panel and measures how long until the new candle is painted
(the panel appends it and Qt repaints), over ``--ticks`` ticks.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_startup.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer

class _Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not getattr(self, "done", False):
            self.done = True
            print(f"PAINTED {time.time():.6f}", flush=True)
            QTimer.singleShot(0, obj.window().close)
        return False

import importlib.abc, sys as _sys
class _Hook(importlib.abc.MetaPathFinder):  # patch MainWindow.show once it is imported
    def find_spec(self, name, path, target=None):
        if name == "task_station.gui.main_window":
            _sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            loader = spec.loader
            real_exec = loader.exec_module
            def exec_module(module):
                real_exec(module)
                _show = module.MainWindow.show
                def show(self):
                    self._probe = _Painted(self)
                    self.centralWidget().installEventFilter(self._probe)
                    _show(self)
                module.MainWindow.show = show
            loader.exec_module = exec_module
            return spec
        return None
import importlib.util
_sys.meta_path.insert(0, _Hook())
from task_station.gui import splash as _splash
_step = _splash.StationSplash.step
def step(self, text):
    _step(self, text)  # shows the message and processes the paint
    if not getattr(_splash, "_seen", False):
        _splash._seen = True
        print(f"SPLASH {time.time():.6f}", flush=True)
_splash.StationSplash.step = step
from task_station.cli import main
sys.exit(main(["--demo"]))
"""


def startup(runs: int) -> tuple[list[float], list[float]]:
    times, splashes = [], []
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TASK_API_PORT": "0"}
    for _ in range(runs):
        t0 = time.time()
        done = subprocess.run(
            [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120
        )
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("PAINTED")), None)
        if line is None:
            raise SystemExit(f"the window never painted:\n{done.stderr[-3000:]}")
        times.append(float(line.split()[1]) - t0)
        first = next((ln for ln in done.stdout.splitlines() if ln.startswith("SPLASH")), None)
        if first is not None:
            splashes.append(float(first.split()[1]) - t0)
    return times, splashes


def tick_to_chart(ticks: int) -> list[float]:
    import asyncio
    import tempfile
    from datetime import timedelta
    from pathlib import Path

    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from task_station.config import Settings
    from task_station.container import build_container
    from task_station.domain.events import BarClosed
    from task_station.gui.bot_chart import BotChartPanel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    data = Path(tempfile.mkdtemp(prefix="tick-bench-"))
    settings = Settings(
        data_dir=data, keyring_backend="cryptfile", keyring_password="bench-vault-password"
    )
    container = build_container(settings)
    s = container.services
    s.users.create("admin", "admin-password", "admin", actor=None)
    admin = s.auth.login("admin", "admin-password").principal
    bot = s.bots.create(
        admin, name="t", strategy="sma_cross", params={"fast": 3, "slow": 8},
        quote_budget="1000", data_source="synthetic:3",
    )  # fmt: skip
    panel = BotChartPanel(s.bots, s.orders, s.events)
    panel.resize(1200, 700)
    panel.show()
    panel.show_bot(bot.id)
    candles = s.market.candles("synthetic:3", limit=500)
    panel.chart.set_candles(candles)  # a history to draw on, as a running bot has
    painted: list[float] = []

    class Probe(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(time.perf_counter())
            return False

    probe = Probe()
    panel.chart.plot.viewport().installEventFilter(probe)
    app.processEvents()
    last = candles[-1]
    latencies = []
    for i in range(ticks):
        nxt = last.__class__(
            last.ts + timedelta(hours=i + 1), last.open, last.high, last.low, last.close,
            last.volume,
        )  # fmt: skip
        painted.clear()
        t0 = time.perf_counter()
        s.events.publish(BarClosed(nxt.ts, bot.id, "paper", bot.symbol, bot.timeframe, nxt))
        deadline = t0 + 1.0
        while not painted and time.perf_counter() < deadline:
            app.processEvents()  # returns once the paint it delivered is done
        if painted:
            latencies.append(time.perf_counter() - t0)
    panel.close()
    asyncio.run(container.aclose())
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args()
    starts, splashes = startup(args.runs)
    print(f"{'measure':<34} {'median':>9} {'p95/max':>9}")
    if splashes:
        print(
            f"{'start to the splash (s)':<34} {statistics.median(splashes):>9.2f} "
            f"{max(splashes):>9.2f}"
        )
    print(
        f"{'start to the main window (s)':<34} {statistics.median(starts):>9.2f} "
        f"{max(starts):>9.2f}"
    )
    ticks = sorted(tick_to_chart(args.ticks))
    p95 = ticks[int(0.95 * (len(ticks) - 1))]
    print(
        f"{'tick to painted candle (ms)':<34} {statistics.median(ticks) * 1000:>9.1f} "
        f"{p95 * 1000:>9.1f}"
    )


if __name__ == "__main__":
    main()
