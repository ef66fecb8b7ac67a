"""The candle series item: batched, chunked and cached drawing of OHLC bars.

Candles are kept as float arrays (Decimals become floats only here, for drawing) and
painted in chunks of ``CHUNK`` candles, each cached as ready-made lines and rectangles
painted with four batched calls (up/down wicks with ``drawLines``, up/down bodies with
``drawRects``). Appending a bar
invalidates only the last chunk, so a live bot costs one small chunk per frame however
long its history is. ``dataBounds`` honours the visible x range, so the y axis fits the
candles on screen.

Level of detail: when more than ``MAX_PER_PIXEL`` candles would share a screen pixel,
the item paints merged candles instead (every ``k`` neighbours as one exact OHLC bar,
``k`` a power of two), cached per level and chunk like the full-detail ones. Zoomed
out on a million candles, a frame paints about as many bars as the plot is wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from task_station.domain.candles import Candle
from task_station.gui.formatting import epoch_seconds
from task_station.gui.palette import CANDLE_DOWN, CANDLE_UP

CHUNK = 256
#: Candles per device pixel beyond which a coarser level is painted.
MAX_PER_PIXEL = 1.0
Array = NDArray[np.float64]
#: A painted chunk: per colour (up?), its wick lines and body rectangles.
_Batch = list[tuple[bool, list[QLineF], list[QRectF]]]


def merge_rows(rows: Array, k: int) -> Array:
    """Every ``k`` rows (x, open, high, low, close) as one: first x and open, highest
    high, lowest low, last close."""
    n = len(rows)
    if k <= 1 or n == 0:
        return rows
    starts = np.arange(0, n, k)
    ends = np.minimum(starts + k, n) - 1
    return np.column_stack(
        (
            rows[starts, 0],
            rows[starts, 1],
            np.maximum.reduceat(rows[:, 2], starts),
            np.minimum.reduceat(rows[:, 3], starts),
            rows[ends, 4],
        )
    )


class CandleItem(pg.GraphicsObject):  # type: ignore[misc]
    """All candles of one series; columns of ``_data`` are x, open, high, low, close."""

    def __init__(self) -> None:
        super().__init__()
        self._data: Array = np.empty((0, 5))
        self._n = 0
        self._chunks: list[_Batch | None] = []
        self._width = 0.7 * 3600.0
        self._pens = {up: _pen(CANDLE_UP if up else CANDLE_DOWN) for up in (True, False)}
        self._brushes = {
            up: QBrush(QColor(CANDLE_UP if up else CANDLE_DOWN)) for up in (True, False)
        }
        #: Merged rows and their chunk batches by level k > 1 (built when first seen).
        self._levels: dict[int, tuple[Array, list[_Batch | None]]] = {}
        #: The level the last frame painted (1: every candle).
        self.painted_level = 1
        self._bounds: tuple[int, QRectF] | None = None

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
        self._levels.clear()
        self._bounds = None
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
        self._extend_levels(self._data[self._n - 1])
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
            self._levels.clear()
            self._bounds = None

    # -- painting --------------------------------------------------------------------

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        exposed = option.exposedRect if option is not None else self.boundingRect()
        visible = self.viewRect()  # Qt exposes the whole item unless told otherwise
        if visible is not None:
            exposed = exposed.intersected(visible)
        k = self.level_for(exposed.left(), exposed.right())
        self.painted_level = k
        if k == 1:
            data, chunks, n, width = self._data, self._chunks, self._n, self._width
        else:
            data, chunks = self._level(k)
            n, width = len(data), self._width * k
        half = width / 2
        first = max(0, int(np.searchsorted(data[:n, 0], exposed.left() - half)) - 1) // CHUNK
        for i in range(first, len(chunks)):
            rows = data[i * CHUNK : min(n, (i + 1) * CHUNK)]
            if rows[0, 0] - half > exposed.right():
                break  # this chunk and all after it are off screen
            if rows[-1, 0] + half < exposed.left():
                continue
            batch = chunks[i]
            if batch is None:
                batch = chunks[i] = self._render(rows, half)
            for up, lines, rects in batch:
                painter.setPen(self._pens[up])
                painter.setBrush(self._brushes[up])
                painter.drawLines(lines)
                painter.drawRects(rects)

    def level_for(self, left: float, right: float) -> int:
        """The merge factor for painting x in [left, right] at the current zoom."""
        if self._n < 2:
            return 1
        x = self._data[: self._n, 0]
        count = int(np.searchsorted(x, right, "right") - np.searchsorted(x, left, "left"))
        pixel = self.pixelWidth() if self.getViewBox() is not None else 0.0
        if not pixel or count < 2:
            return 1
        pixels = max(1.0, (right - left) / pixel)
        per_pixel = count / pixels
        if per_pixel <= MAX_PER_PIXEL:
            return 1
        return 1 << int(np.ceil(np.log2(per_pixel / MAX_PER_PIXEL)))

    def _extend_levels(self, row: Array) -> None:
        """Fold the newest candle into every cached level: its group's bar grows (or a
        new bar starts) and only that bar's chunk is repainted."""
        i = self._n - 1
        for k, (rows, chunks) in list(self._levels.items()):
            g = i // k
            if g < len(rows):
                rows[g, 2] = max(rows[g, 2], row[2])
                rows[g, 3] = min(rows[g, 3], row[3])
                rows[g, 4] = row[4]
            else:
                rows = np.vstack([rows, row[None, :]])
                if g // CHUNK == len(chunks):
                    chunks.append(None)
                self._levels[k] = (rows, chunks)
            chunks[g // CHUNK] = None

    def _level(self, k: int) -> tuple[Array, list[_Batch | None]]:
        cached = self._levels.get(k)
        if cached is None:
            rows = merge_rows(self._data[: self._n], k)
            cached = self._levels[k] = (rows, [None] * -(-len(rows) // CHUNK))
        return cached

    def _render(self, rows: Array, half: float) -> _Batch:
        """The chunk's wicks and bodies, per colour, as ready-made Qt values: a frame
        hands each list to one ``drawLines``/``drawRects`` call (replaying a QPicture
        costs several times more per element)."""
        batch: _Batch = []
        for up in (True, False):
            part = rows[(rows[:, 4] >= rows[:, 1]) == up]
            if not len(part):
                continue
            x, o, h, lo, c = part.T
            segments = np.column_stack((x, lo, x, h)).tolist()
            boxes = np.column_stack(
                (x - half, np.minimum(o, c), np.full_like(x, 2 * half), np.abs(c - o))
            ).tolist()
            batch.append(
                (
                    up,
                    [QLineF(*seg) for seg in segments],
                    [QRectF(*box) for box in boxes],
                )
            )
        return batch

    # -- geometry --------------------------------------------------------------------

    def dataBounds(
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: tuple[float, float] | None = None,
    ) -> tuple[float | None, float | None]:
        rows = self._data[: self._n]
        if ax == 1 and orthoRange is not None and len(rows):
            lo = int(np.searchsorted(rows[:, 0], orthoRange[0], side="left"))
            hi = int(np.searchsorted(rows[:, 0], orthoRange[1], side="right"))
            rows = rows[lo:hi]
        if not len(rows):
            return None, None
        if ax == 0:
            return float(rows[0, 0]) - self._width, float(rows[-1, 0]) + self._width
        return float(rows[:, 3].min()), float(rows[:, 2].max())

    def boundingRect(self) -> QRectF:
        # Qt asks many times a frame: keep it, and recompute only when rows change
        if self._bounds is None or self._bounds[0] != self._n:
            (x0, x1), (y0, y1) = self.dataBounds(0), self.dataBounds(1)
            if x0 is None or x1 is None or y0 is None or y1 is None:
                rect = QRectF()
            else:
                rect = QRectF(x0, y0, x1 - x0, y1 - y0)
            self._bounds = (self._n, rect)
        return QRectF(self._bounds[1])


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
