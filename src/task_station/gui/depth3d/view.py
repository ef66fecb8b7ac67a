"""``DepthCandleView``: candles as 3D boxes in front of the order-book depth over time.

Orbit with the left mouse button, pan with the middle one (or Ctrl + left), zoom with
the wheel: ``GLViewWidget``'s own controls. Hovering a candle tells its time and OHLCV
through ``hovered`` (and the readout label of ``DepthCandleChart``).

The view holds the whole history but draws at most ``max_boxes`` candles: it picks a
merge level from how many candles the camera can see and builds only the window around
the camera's centre (geometry.py). Moving the camera far enough rebuilds that window;
nothing else ever walks the whole history on a frame.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pyqtgraph.opengl as gl
from PySide6.QtCore import Signal
from PySide6.QtGui import QMatrix4x4, QMouseEvent, QVector3D
from PySide6.QtWidgets import QWidget

from task_station.gui.depth3d import geometry as geo
from task_station.gui.depth3d.geometry import CandleArrays, DepthGrid, PriceScale
from task_station.gui.palette import CANDLE_DOWN, CANDLE_UP, COLORS

#: World height of the full price range; the time axis is one unit a candle.
PRICE_HEIGHT = 60.0
#: How deep the largest depth cell rises behind the candles.
DEPTH_HEIGHT = 25.0
#: Price bins of the depth surface.
PRICE_BINS = 48
#: Depth columns drawn at most (the surface merges time columns beyond that).
MAX_DEPTH_COLUMNS = 400
#: Share of the volume-at-price profile a depth column carries over to the next one.
VOLUME_MEMORY = 0.9
#: Hover radius around a candle's projected centre, in pixels.
HOVER_PIXELS = 14.0


class DepthCandleView(gl.GLViewWidget):  # type: ignore[misc]
    """Time x price x depth; see the module docstring."""

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, max_boxes: int = 3000) -> None:
        super().__init__(parent)
        self.max_boxes = max_boxes
        self.setBackgroundColor(COLORS["bg"])
        self.setMouseTracking(True)
        self._candles = CandleArrays.from_lists([], [], [], [], [], [])
        self._books: DepthGrid | None = None
        self._scale = PriceScale(0.0, 1.0, PRICE_HEIGHT)
        self._bodies = gl.GLMeshItem(smooth=True, computeNormals=False, glOptions="opaque")
        self._wicks = gl.GLLinePlotItem(mode="lines", width=1.0, antialias=False)
        self._depth = gl.GLMeshItem(smooth=True, computeNormals=False, glOptions="translucent")
        self._grid = gl.GLGridItem(color=(60, 72, 96, 90))
        for item in (self._grid, self._depth, self._wicks, self._bodies):
            self.addItem(item)
        #: What is built now: (level, first candle, stop) and the drawn candles' centres.
        self.built: tuple[int, int, int] | None = None
        self._shown = CandleArrays.from_lists([], [], [], [], [], [])
        self._centres = np.zeros((0, 3))
        self._first_shown = 0
        self._level = 1
        self.setCameraPosition(distance=120, elevation=16, azimuth=-62)

    # -- data -------------------------------------------------------------------

    def set_data(self, candles: CandleArrays, books: DepthGrid | None = None) -> None:
        """Show ``candles`` (and recorded ``books``; else volume at price) and aim the
        camera at the newest bars."""
        self._candles = candles
        self._books = books
        self._scale = PriceScale.fit(candles, PRICE_HEIGHT)
        self.built = None
        n = len(candles)
        visible = min(n, 120)
        centre_x = (n - visible / 2) * geo.X_STEP
        # look at where the newest bars trade, not at the middle of the whole history
        recent = candles.close[max(0, n - visible) :]
        centre_z = float(self._scale.z(float(recent.mean()))) if n else PRICE_HEIGHT / 2
        self.opts["center"] = QVector3D(centre_x, geo.DEPTH_OFFSET, centre_z)
        self.opts["distance"] = max(40.0, visible * 0.75)
        self._grid.setSize(x=max(n, 1) * geo.X_STEP, y=DEPTH_HEIGHT * 2, z=1)
        self._grid.resetTransform()
        self._grid.translate(n * geo.X_STEP / 2, DEPTH_HEIGHT / 2, 0)
        self._grid.setSpacing(x=max(1.0, 2 ** round(math.log2(max(n, 1) / 40))), y=5, z=1)
        self.refresh(force=True)

    def append(self, candles: CandleArrays) -> None:
        """Live update: add new candles, or replace the forming last one (same ts)."""
        if len(candles) == 0:
            return
        old = self._candles
        keep = len(old)
        if keep and candles.ts[0] == old.ts[-1]:
            keep -= 1
        merged = CandleArrays(
            *(
                np.concatenate([getattr(old, f)[:keep], getattr(candles, f)])
                for f in ("ts", "open", "high", "low", "close", "volume")
            )
        )
        follow = self.built is not None and self.built[2] >= len(old)
        self._candles = merged
        if float(merged.low.min()) < self._scale.low or float(merged.high.max()) > self._scale.high:
            self._scale = PriceScale.fit(merged, PRICE_HEIGHT)
        if follow:
            self.opts["center"].setX(
                self.opts["center"].x() + (len(merged) - len(old)) * geo.X_STEP
            )
        self.refresh(force=True)

    @property
    def candles(self) -> CandleArrays:
        return self._candles

    @property
    def level(self) -> int:
        """The merge factor drawn now (1: every candle is its own box)."""
        return self._level

    @property
    def drawn_boxes(self) -> int:
        return len(self._shown)

    @property
    def centres(self) -> np.ndarray:
        """World centres of the drawn bodies (a copy), in drawing order."""
        return self._centres.copy()

    # -- level of detail ---------------------------------------------------------

    def visible_candles(self) -> float:
        """How many candles fit across the view at the camera's centre distance."""
        dist = float(self.opts["distance"])
        fov = math.radians(float(self.opts["fov"]))
        aspect = max(self.width(), 1) / max(self.height(), 1)
        return float(2 * dist * math.tan(fov / 2) * aspect / geo.X_STEP)

    def wanted_window(self) -> tuple[int, int, int]:
        """(level, start, stop) for the camera as it is: up to ``max_boxes`` boxes,
        centred where the camera looks (a margin each side for panning)."""
        n = len(self._candles)
        visible = self.visible_candles()
        level = geo.level_for(visible, self.max_boxes)
        span = min(n, self.max_boxes * level)
        centre = int(self.opts["center"].x() / geo.X_STEP)
        start = min(max(0, centre - span // 2), max(0, n - span))
        start -= start % level
        return level, start, min(n, start + span)

    def refresh(self, force: bool = False) -> bool:
        """Rebuild the buffers if the camera left what is built; True if it did."""
        want = self.wanted_window()
        if not force and self.built is not None:
            level, start, stop = self.built
            n = len(self._candles)
            centre = self.opts["center"].x() / geo.X_STEP
            span = stop - start
            inside = start + span * 0.2 <= centre <= stop - span * 0.2 or (start == 0 and stop == n)
            if level == want[0] and (inside or (start, stop) == want[1:]):
                return False
        self._build(*want)
        return True

    def _build(self, level: int, start: int, stop: int) -> None:
        window = self._candles.window(start, stop)
        shown = geo.merge(window, level)
        up, down = geo.hex_rgba(CANDLE_UP), geo.hex_rgba(CANDLE_DOWN)
        x_step = geo.X_STEP * level
        first = start // level
        # merged candle j spans [start + j*level, ...): centre it on its span
        offset = (level - 1) / 2 / level
        mesh = geo.candle_boxes(shown, first, self._scale, up, down, x_step)
        shift = np.float32(offset * x_step)
        mesh.vertexes[:, 0] += shift
        self._bodies.setMeshData(vertexes=mesh.vertexes, faces=mesh.faces, vertexColors=mesh.colors)
        wicks = geo.wick_segments(shown, first, self._scale, x_step)
        wicks[:, 0] += shift
        wick_colors = np.repeat(
            np.where(
                (shown.close >= shown.open)[:, None],
                np.array(up, np.float32),
                np.array(down, np.float32),
            ),
            2,
            axis=0,
        )
        self._wicks.setData(pos=wicks, color=wick_colors)
        self._build_depth(window, start, stop)
        self._shown = shown
        self._centres = geo.candle_centres(shown, first, self._scale, x_step)
        self._centres[:, 0] += float(shift)
        self._first_shown = start
        self._level = level
        self.built = (level, start, stop)

    def _build_depth(self, window: CandleArrays, start: int, stop: int) -> None:
        edges = geo.price_edges(self._scale.low, self._scale.high, PRICE_BINS)
        if self._books is not None and len(self._books.start):
            books = self._books
            keep = (books.start >= start) & (books.start < stop)
            picked = np.flatnonzero(keep)
            if len(picked) > MAX_DEPTH_COLUMNS:
                picked = picked[:: math.ceil(len(picked) / MAX_DEPTH_COLUMNS)]
            grid = DepthGrid(
                books.start[picked], books.edges, books.bids[picked], books.asks[picked]
            )
        else:
            k = max(1, math.ceil(len(window) / MAX_DEPTH_COLUMNS))
            grid = geo.volume_profile(window, start, edges, k, memory=VOLUME_MEMORY)
        bid = geo.hex_rgba(CANDLE_UP, 0.55)
        ask = geo.hex_rgba(CANDLE_DOWN, 0.55)
        mesh = geo.depth_surface(grid, self._scale, DEPTH_HEIGHT, bid, ask, end_index=stop)
        self._depth.setMeshData(vertexes=mesh.vertexes, faces=mesh.faces, vertexColors=mesh.colors)

    # -- camera and hover ---------------------------------------------------------

    def paintGL(self) -> None:
        self.refresh()
        super().paintGL()

    def mvp(self) -> QMatrix4x4:
        """Projection x view: world to clip space, as the next frame will draw it."""
        viewport = self.getViewport()
        matrix: QMatrix4x4 = self.projectionMatrix(viewport, viewport) * self.viewMatrix()
        return matrix

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(n, 3)`` to widget pixels ``(n, 2)`` (y down)."""
        m = np.array(self.mvp().data(), dtype=float).reshape(4, 4).T
        homo = np.column_stack([points, np.ones(len(points))]) @ m.T
        w = homo[:, 3:4]
        ndc = homo[:, :3] / np.where(np.abs(w) < 1e-12, 1e-12, w)
        px = (ndc[:, 0] + 1) * 0.5 * self.width()
        py = (1 - ndc[:, 1]) * 0.5 * self.height()
        behind = w[:, 0] <= 0
        out = np.column_stack([px, py])
        out[behind] = np.nan
        return out

    def candle_at(self, x: float, y: float) -> int | None:
        """Index (into the full history) of the drawn candle under pixel (x, y)."""
        if not len(self._centres):
            return None
        screen = self.project(self._centres)
        d = np.hypot(screen[:, 0] - x, screen[:, 1] - y)
        if np.all(np.isnan(d)):
            return None
        j = int(np.nanargmin(d))
        if d[j] > HOVER_PIXELS:
            return None
        return self._first_shown + j * self._level

    def readout(self, index: int) -> str:
        """What the hover shows for candle ``index`` at the drawn level."""
        level = self._level
        start = index - (index - self._first_shown) % level
        c = geo.merge(self._candles.window(start, start + level), level)
        when = datetime.fromtimestamp(int(c.ts[0]) / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        span = f" (x{level})" if level > 1 else ""
        return (
            f"{when}{span}  O {c.open[0]:.6g}  H {c.high[0]:.6g}  "
            f"L {c.low[0]:.6g}  C {c.close[0]:.6g}  V {c.volume[0]:.6g}"
        )

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        super().mouseMoveEvent(ev)
        pos = ev.position()
        index = self.candle_at(pos.x(), pos.y())
        self.hovered.emit("" if index is None else self.readout(index))
