"""The candle chart: the cached candle item plus buy/sell markers, following the
newest bars of a live bot."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from task_station.domain.candles import Candle
from task_station.domain.orders import Fill, OrderSide
from task_station.gui.candle_item import CHUNK, Array, CandleItem, candle_row
from task_station.gui.formatting import epoch_seconds
from task_station.gui.palette import BUY, COLORS, SELL

__all__ = ["CHUNK", "CandleChart", "CandleItem", "candle_row", "marker_heights"]


class CandleChart(QWidget):
    """A price chart of candles with buy/sell markers; it follows the newest bars
    until the user pans away, and again once they scroll back to the right edge."""

    VISIBLE_BARS = 140

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plot = pg.PlotWidget(
            axisItems={"bottom": pg.DateAxisItem(orientation="bottom", utcOffset=0)}
        )
        self._plot.setBackground(COLORS["bg"])
        # a GridItem, not the axes' own grid: that one repaints ~18 ms a frame at 720p
        self._plot.addItem(pg.GridItem(pen=pg.mkPen(COLORS["grid"]), textPen=None))
        self._plot.showAxis("right")
        self._plot.hideAxis("left")
        self._plot.setMenuEnabled(False)
        for name in ("bottom", "right"):
            axis = self._plot.getAxis(name)
            axis.setTextPen(COLORS["text_dim"])
            axis.setPen(COLORS["border"])
        self._plot.getAxis("right").setStyle(showValues=True)
        self._plot.getAxis("right").setWidth(72)
        self._candles = CandleItem()
        self._markers = pg.ScatterPlotItem(
            pxMode=True, size=12, pen=pg.mkPen(COLORS["bg"], width=1)
        )
        self._plot.addItem(self._candles)
        self._plot.addItem(self._markers)
        box = self._plot.getViewBox()
        box.setAutoVisible(y=True)
        box.sigRangeChangedManually.connect(self._on_manual_range)
        self._trades: dict[str, tuple[float, int, float]] = {}
        self._follow = True
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(30)
        self._flush_timer.timeout.connect(self.flush)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plot)

    # -- public API ------------------------------------------------------------------

    @property
    def candle_count(self) -> int:
        return len(self._candles.data)

    @property
    def marker_count(self) -> int:
        """Markers currently drawn (call ``flush`` first to include pending trades)."""
        return len(self._markers.data)

    @property
    def plot(self) -> pg.PlotWidget:
        return self._plot

    def set_candles(self, candles: Sequence[Candle]) -> None:
        """Show exactly ``candles`` (oldest first) and jump to the newest."""
        self._candles.set_data(
            np.array([candle_row(c) for c in candles], dtype=np.float64).reshape(-1, 5)
        )
        self._follow = True
        self.flush()

    def append_candle(self, candle: Candle) -> None:
        """Add the next bar; markers and the view catch up on the next flush."""
        self._candles.append(candle_row(candle))
        self._schedule()

    def set_trades(self, fills: Sequence[Fill]) -> None:
        self._trades = {}
        for fill in fills:
            self._remember(fill)
        self.flush()

    def add_trade(self, fill: Fill) -> None:
        """Add one fill (a fill already shown is ignored)."""
        self._remember(fill)
        self._schedule()

    def clear(self) -> None:
        self.set_candles([])
        self.set_trades([])

    def follow_latest(self) -> None:
        self._follow = True
        self._apply_view()

    def flush(self) -> None:
        """Apply pending changes now: markers and, when following, the view range."""
        self._flush_timer.stop()
        self._update_markers()
        self._apply_view()

    # -- internals -------------------------------------------------------------------

    def _remember(self, fill: Fill) -> None:
        side = 1 if fill.side is OrderSide.BUY else -1
        self._trades[fill.trade_id] = (epoch_seconds(fill.ts), side, float(fill.price))

    def _schedule(self) -> None:
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _update_markers(self) -> None:
        if not self._trades:
            self._markers.setData([])
            return
        t, side, price = (
            np.array(col, dtype=np.float64) for col in zip(*self._trades.values(), strict=True)
        )
        y = marker_heights(self._candles.data, t, side, price)
        buys = side > 0
        self._markers.setData(
            x=t,
            y=y,
            symbol=np.where(buys, "t1", "t").tolist(),
            brush=[pg.mkBrush(BUY if b else SELL) for b in buys],
        )

    def _apply_view(self) -> None:
        rows = self._candles.data
        if not self._follow or not len(rows):
            return
        width = self._candles.bar_width / 0.7
        first = rows[max(0, len(rows) - self.VISIBLE_BARS), 0]
        box = self._plot.getViewBox()
        box.setXRange(first - width, rows[-1, 0] + 4 * width, padding=0)
        box.enableAutoRange(axis="y")

    def _on_manual_range(self, *_: object) -> None:
        rows = self._candles.data
        if len(rows):
            (_x0, x1), _ = self._plot.getViewBox().viewRange()
            self._follow = x1 >= rows[-1, 0]


def marker_heights(rows: Array, t: Array, side: Array, price: Array) -> Array:
    """Where markers sit: buys below their candle's low, sells above its high (at the
    fill price when no candle covers the fill time)."""
    if not len(rows):
        return price
    x, high, low = rows[:, 0], rows[:, 2], rows[:, 3]
    pad = 0.6 * float(np.median(high - low)) if len(rows) else 0.0
    idx = np.searchsorted(x, t, side="right") - 1
    spacing = float(np.median(np.diff(x))) if len(x) > 1 else 3600.0
    covered = (idx >= 0) & (t < x[np.clip(idx, 0, None)] + spacing)
    safe = np.clip(idx, 0, len(rows) - 1)
    below = np.where(covered, low[safe], price) - pad
    above = np.where(covered, high[safe], price) + pad
    return np.where(side > 0, below, above)
