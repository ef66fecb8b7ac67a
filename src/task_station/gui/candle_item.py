"""The candle series item: batched, chunked and cached drawing of OHLC bars.

Candles are kept as float arrays (Decimals become floats only here, for drawing) and
painted in chunks of ``CHUNK`` candles, each a cached QPicture made of four batched calls
(up/down wicks with ``drawLines``, up/down bodies with ``drawRects``). Appending a bar
invalidates only the last chunk, so a live bot costs one small chunk per frame however
long its history is. ``dataBounds`` honours the visible x range, so the y axis fits the
candles on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QPicture

from task_station.domain.candles import Candle
from task_station.gui.formatting import epoch_seconds
from task_station.gui.palette import CANDLE_DOWN, CANDLE_UP

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
            # one call per colour: the lines and rects come from the arrays in one pass
            segments = np.column_stack((x, lo, x, h)).tolist()
            boxes = np.column_stack(
                (x - half, np.minimum(o, c), np.full_like(x, 2 * half), np.abs(c - o))
            ).tolist()
            painter.drawLines([QLineF(*seg) for seg in segments])
            painter.drawRects([QRectF(*box) for box in boxes])
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
