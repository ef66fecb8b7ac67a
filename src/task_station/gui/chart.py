"""The candle chart: one batched, cached graphics item plus trade markers.

``CandleItem`` keeps OHLC as float arrays (Decimals become floats only here, for
drawing) and paints them in chunks of ``CHUNK`` candles, each a cached QPicture made of
four batched calls (up/down wicks with ``drawLines``, up/down bodies with ``drawRects``).
Appending a bar invalidates only the last chunk, so a live bot costs one small chunk per
frame however long its history is. ``dataBounds`` honours the visible x range, so the y
axis fits the candles on screen while the view follows the latest bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QRectF, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPicture
from PySide6.QtWidgets import QVBoxLayout, QWidget

from task_station.domain.candles import Candle
from task_station.domain.orders import Fill, OrderSide
from task_station.gui.formatting import epoch_seconds
from task_station.gui.palette import BUY, CANDLE_DOWN, CANDLE_UP, COLORS, SELL

CHUNK = 256
Array = NDArray[np.float64]


class CandleItem(pg.GraphicsObject):  # type: ignore[misc]
    """All candles of one series; columns of ``_data`` are x, open, high, low, close."""

    def __init__(self) -> None:
        super().__init__()
        self._data: Array = np.empty((0, 5))
        self._n = 0
        self._chunks: list[QPicture | None] = []
        self._width = 0.7 * 3600.0
        self._pens = {up: _pen(CANDLE_UP if up else CANDLE_DOWN) for up in (True, False)}

    # -- data ------------------------------------------------------------------------

    @property
    def data(self) -> Array:
        """A read-only view of the rows drawn so far (x, open, high, low, close)."""
        view = self._data[: self._n]
        view.flags.writeable = False
        return view

    def set_data(self, rows: Array) -> None:
        """Replace every candle."""
        self.prepareGeometryChange()
        self._data = np.array(rows, dtype=np.float64).reshape(-1, 5)
        self._n = len(self._data)
        self._chunks = [None] * -(-self._n // CHUNK)
        self._update_width()
        self.update()

    def append(self, row: Sequence[float]) -> None:
        """Add one candle (amortised O(1)); only the last chunk is redrawn."""
        self.prepareGeometryChange()
        if self._n == len(self._data):
            grown = np.empty((max(64, 2 * self._n), 5))
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n] = row
        self._n += 1
        chunk = (self._n - 1) // CHUNK
        if chunk == len(self._chunks):
            self._chunks.append(None)
        self._chunks[chunk] = None
        if self._n <= 3:
            self._update_width()
        self.update()

    @property
    def bar_width(self) -> float:
        return self._width

    def _update_width(self) -> None:
        x = self._data[: self._n, 0]
        spacing = float(np.median(np.diff(x))) if self._n > 1 else 3600.0
        new = 0.7 * (spacing if spacing > 0 else 3600.0)
        if new != self._width:
            self._width = new
            self._chunks = [None] * len(self._chunks)

    # -- painting --------------------------------------------------------------------

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        exposed = option.exposedRect if option is not None else self.boundingRect()
        half = self._width / 2
        for i in range(len(self._chunks)):
            rows = self._data[i * CHUNK : min(self._n, (i + 1) * CHUNK)]
            if rows[-1, 0] + half < exposed.left() or rows[0, 0] - half > exposed.right():
                continue  # chunk entirely off screen
            picture = self._chunks[i]
            if picture is None:
                picture = self._chunks[i] = self._render(rows)
            picture.play(painter)

    def _render(self, rows: Array) -> QPicture:
        picture = QPicture()
        painter = QPainter(picture)
        half = self._width / 2
        for up in (True, False):
            part = rows[(rows[:, 4] >= rows[:, 1]) == up]
            if not len(part):
                continue
            x, o, h, lo, c = part.T
            painter.setPen(self._pens[up])
            painter.setBrush(QColor(CANDLE_UP if up else CANDLE_DOWN))
            lines = PrimitiveArray(QLineF, 4)
            lines.resize(len(part))
            lines.ndarray()[:] = np.column_stack((x, lo, x, h))
            painter.drawLines(*lines.drawargs())
            rects = PrimitiveArray(QRectF, 4)
            rects.resize(len(part))
            rects.ndarray()[:] = np.column_stack(
                (x - half, np.minimum(o, c), np.full_like(x, 2 * half), np.abs(c - o))
            )
            painter.drawRects(*rects.drawargs())
        painter.end()
        return picture

    # -- geometry --------------------------------------------------------------------

    def dataBounds(
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: tuple[float, float] | None = None,
    ) -> tuple[float | None, float | None]:
        rows = self._data[: self._n]
        if ax == 1 and orthoRange is not None and len(rows):
            rows = rows[(rows[:, 0] >= orthoRange[0]) & (rows[:, 0] <= orthoRange[1])]
        if not len(rows):
            return None, None
        if ax == 0:
            return float(rows[0, 0]) - self._width, float(rows[-1, 0]) + self._width
        return float(rows[:, 3].min()), float(rows[:, 2].max())

    def boundingRect(self) -> QRectF:
        (x0, x1), (y0, y1) = self.dataBounds(0), self.dataBounds(1)
        if x0 is None or x1 is None or y0 is None or y1 is None:
            return QRectF()
        return QRectF(x0, y0, x1 - x0, y1 - y0)


def _pen(colour: str) -> QPen:
    pen = QPen(QColor(colour))
    pen.setCosmetic(True)
    pen.setWidthF(1.0)
    return pen


def candle_row(candle: Candle) -> tuple[float, float, float, float, float]:
    """The float row drawn for ``candle`` (x is the bar's open time in epoch seconds)."""
    return (
        epoch_seconds(candle.ts),
        float(candle.open),
        float(candle.high),
        float(candle.low),
        float(candle.close),
    )


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
        self._plot.showGrid(x=True, y=True, alpha=0.12)
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
