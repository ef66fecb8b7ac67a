"""Geometry of the 3D depth-candle chart, as a few large numpy buffers.

The scene is time x price x depth. GL's up axis (z) is price, so the camera orbits
the way a trader reads a chart; x is time (one unit a candle at full detail); y is
depth: candle bodies sit in a slab around y = 0 and the order-book (or volume at
price) surface rises behind them, towards +y.

Why buffers and not items: one ``GLMeshItem`` per candle costs a draw call and a
Python object each, which stalls at a few thousand; one mesh of N boxes is one draw
call (see ../shared/STACK-NOTES.md). Faces carry their own shade baked into the vertex
colours (tops bright, sides darker), so boxes read as solid without a lighting shader,
which software renderers would pay for per pixel.

Level of detail: a view never builds more than ``max_boxes`` boxes. Far away it merges
``k`` neighbouring candles into one (exact OHLCV merge); close up it keeps full detail
but builds only the window of candles around the camera's centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
U32 = NDArray[np.uint32]

#: World units between two candles at full detail.
X_STEP = 1.0
#: A candle body's share of its slot, along time and along depth.
BODY_WIDTH = 0.7
BODY_DEPTH = 0.7
#: Where the depth surface starts behind the candles (world y).
DEPTH_OFFSET = 1.5
#: Depth cells below this share of the deepest cell are not drawn.
FAINT = 0.02
#: Face shades in face order bottom, top, front, back, left, right (a fixed light from
#: above and in front).
SHADES = (0.45, 1.0, 0.82, 0.55, 0.68, 0.68)


@dataclass(frozen=True, slots=True)
class CandleArrays:
    """Candles as columns (ts in ms); the chart's only input besides the depth grid."""

    ts: NDArray[np.int64]
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"candle column {name} has {len(getattr(self, name))} rows, ts {n}"
                )

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_lists(
        cls,
        ts: list[int],
        o: list[float],
        h: list[float],
        lo: list[float],
        c: list[float],
        v: list[float],
    ) -> CandleArrays:
        f = np.asarray
        return cls(
            f(ts, np.int64), f(o, float), f(h, float), f(lo, float), f(c, float), f(v, float)
        )

    def window(self, start: int, stop: int) -> CandleArrays:
        s = slice(max(0, start), max(0, stop))
        return CandleArrays(
            self.ts[s], self.open[s], self.high[s], self.low[s], self.close[s], self.volume[s]
        )


def merge(candles: CandleArrays, k: int) -> CandleArrays:
    """Merge every ``k`` consecutive candles into one (the last group may be shorter):
    first open, highest high, lowest low, last close, summed volume, first time."""
    if k < 1:
        raise ValueError(f"merge factor must be at least 1, got {k}")
    n = len(candles)
    if k == 1 or n == 0:
        return candles
    starts = np.arange(0, n, k)
    ends = np.minimum(starts + k, n) - 1
    return CandleArrays(
        candles.ts[starts],
        candles.open[starts],
        np.maximum.reduceat(candles.high, starts),
        np.minimum.reduceat(candles.low, starts),
        candles.close[ends],
        np.add.reduceat(candles.volume, starts),
    )


def level_for(visible_candles: float, max_boxes: int) -> int:
    """The merge factor (a power of two) that keeps ``visible_candles`` under ``max_boxes``."""
    if visible_candles <= max_boxes:
        return 1
    return 1 << math.ceil(math.log2(visible_candles / max_boxes))


@dataclass(frozen=True, slots=True)
class PriceScale:
    """Price to world z: the visible price range spans ``height`` world units."""

    low: float
    high: float
    height: float

    @classmethod
    def fit(cls, candles: CandleArrays, height: float) -> PriceScale:
        if len(candles) == 0:
            return cls(0.0, 1.0, height)
        lo, hi = float(candles.low.min()), float(candles.high.max())
        if hi <= lo:
            hi = lo + max(abs(lo) * 1e-6, 1e-9)
        return cls(lo, hi, height)

    def z(self, price: F64 | float) -> F64:
        return (np.asarray(price, float) - self.low) * (self.height / (self.high - self.low))

    def price(self, z: float) -> float:
        return self.low + z * (self.high - self.low) / self.height


#: The 8 corners of a unit box (x, y, z in {0, 1}) and, per face, 4 of them (CCW
#: from outside): bottom, top, front (y=0), back (y=1), left (x=0), right (x=1).
_FACE_CORNERS = np.array(
    [
        [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)],  # bottom
        [(0, 0, 1), (0, 1, 1), (1, 1, 1), (1, 0, 1)],  # top
        [(0, 0, 0), (0, 0, 1), (1, 0, 1), (1, 0, 0)],  # front
        [(0, 1, 0), (1, 1, 0), (1, 1, 1), (0, 1, 1)],  # back
        [(0, 0, 0), (0, 1, 0), (0, 1, 1), (0, 0, 1)],  # left
        [(1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 0)],  # right
    ],
    dtype=np.float32,
).reshape(24, 3)
_FACE_SHADE = np.repeat(np.array(SHADES, np.float32), 4)
_QUAD_TRIS = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class Mesh:
    """Indexed triangles with per-vertex RGBA, ready for one ``GLMeshItem``."""

    vertexes: F32
    faces: U32
    colors: F32

    @property
    def triangles(self) -> int:
        return len(self.faces)


def boxes(lo: F32, hi: F32, colors: F32) -> Mesh:
    """``n`` axis-aligned boxes from corner ``lo`` to corner ``hi`` (each ``(n, 3)``),
    coloured ``colors`` (``(n, 4)``) with each face's shade baked in."""
    n = len(lo)
    size = (hi - lo).astype(np.float32)
    verts = lo[:, None, :].astype(np.float32) + _FACE_CORNERS[None, :, :] * size[:, None, :]
    quads = np.arange(6, dtype=np.uint32)[:, None, None] * 4 + _QUAD_TRIS[None, :, :]
    faces = (np.arange(n, dtype=np.uint32)[:, None, None] * 24).reshape(n, 1, 1) + quads.reshape(
        1, 12, 3
    )
    rgba = np.repeat(colors.astype(np.float32)[:, None, :], 24, axis=1)
    rgba[:, :, :3] *= _FACE_SHADE[None, :, None]
    return Mesh(verts.reshape(-1, 3), faces.reshape(-1, 3), rgba.reshape(-1, 4))


def hex_rgba(color: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def candle_boxes(
    candles: CandleArrays,
    first_index: int,
    scale: PriceScale,
    up: tuple[float, float, float, float],
    down: tuple[float, float, float, float],
    x_step: float = X_STEP,
) -> Mesh:
    """Bodies of ``candles``; candle ``j`` sits at x = (first_index + j) * x_step.

    A doji still gets a sliver of height so it stays visible."""
    n = len(candles)
    x = (first_index + np.arange(n)) * x_step
    z_open, z_close = scale.z(candles.open), scale.z(candles.close)
    z_lo, z_hi = np.minimum(z_open, z_close), np.maximum(z_open, z_close)
    z_hi = np.maximum(z_hi, z_lo + scale.height * 0.002)
    half_w, half_d = 0.5 * BODY_WIDTH * x_step, 0.5 * BODY_DEPTH
    lo = np.column_stack([x - half_w, np.full(n, -half_d), z_lo]).astype(np.float32)
    hi = np.column_stack([x + half_w, np.full(n, half_d), z_hi]).astype(np.float32)
    rising = candles.close >= candles.open
    colors = np.where(rising[:, None], np.array(up, np.float32), np.array(down, np.float32))
    return boxes(lo, hi, colors.astype(np.float32))


def wick_segments(
    candles: CandleArrays, first_index: int, scale: PriceScale, x_step: float = X_STEP
) -> F32:
    """Line-segment endpoints (``(2n, 3)``, for GL_LINES) from each low to its high."""
    n = len(candles)
    x = (first_index + np.arange(n)) * x_step
    pts = np.empty((2 * n, 3), np.float32)
    pts[0::2, 0] = pts[1::2, 0] = x
    pts[:, 1] = 0.0
    pts[0::2, 2] = scale.z(candles.low)
    pts[1::2, 2] = scale.z(candles.high)
    return pts


def candle_centres(
    candles: CandleArrays, first_index: int, scale: PriceScale, x_step: float = X_STEP
) -> F64:
    """World centre of each body (for hover picking and tests)."""
    x = (first_index + np.arange(len(candles))) * x_step
    mid = 0.5 * (scale.z(candles.open) + scale.z(candles.close))
    return np.column_stack([x, np.zeros(len(candles)), mid])


# -- depth --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepthGrid:
    """Resting size over time and price: ``bids[t, p]`` and ``asks[t, p]`` at price bin
    ``p`` (edges ``edges[p]..edges[p+1]``) from candle index ``start[t]`` on.

    Built from recorded order books (``from_books``) or, where none were recorded,
    from the candles' volume at price (``volume_profile``), which then fills ``bids``
    below each candle's close and ``asks`` above it.
    """

    start: NDArray[np.int64]
    edges: F64
    bids: F64
    asks: F64

    @property
    def total(self) -> F64:
        return self.bids + self.asks


def price_edges(low: float, high: float, bins: int) -> F64:
    if bins < 1:
        raise ValueError("a depth grid needs at least one price bin")
    if high <= low:
        high = low + max(abs(low) * 1e-6, 1e-9)
    return np.linspace(low, high, bins + 1)


def from_books(
    snapshot_index: NDArray[np.int64],
    books: list[tuple[list[tuple[float, float]], list[tuple[float, float]]]],
    edges: F64,
) -> DepthGrid:
    """Bin each snapshot's levels (``(price, size)`` bids and asks) into ``edges``.

    ``snapshot_index[t]`` is the candle index the snapshot belongs to. Levels outside
    the price range are left out (the chart shows what is on screen)."""
    if len(snapshot_index) != len(books):
        raise ValueError("one candle index per book snapshot")
    bins = len(edges) - 1
    bids = np.zeros((len(books), bins))
    asks = np.zeros((len(books), bins))
    for t, (bid_levels, ask_levels) in enumerate(books):
        for out, levels in ((bids, bid_levels), (asks, ask_levels)):
            if not levels:
                continue
            arr = np.asarray(levels, float)
            p = np.searchsorted(edges, arr[:, 0], side="right") - 1
            inside = (p >= 0) & (p < bins)
            np.add.at(out[t], p[inside], arr[inside, 1])
    return DepthGrid(np.asarray(snapshot_index, np.int64), edges, bids, asks)


def volume_profile(
    candles: CandleArrays, first_index: int, edges: F64, k: int = 1, memory: float = 0.0
) -> DepthGrid:
    """Volume at price: each candle's volume spread evenly over the bins its range
    covers (by overlap), in groups of ``k`` candles. With ``memory`` 0 every group
    holds exactly its own volume (conserved for candles inside the price range); with
    ``memory`` m each group also keeps m times the previous group's profile, so the
    surface shows where volume has built up, as resting depth would."""
    if not 0.0 <= memory < 1.0:
        raise ValueError(f"memory must be in [0, 1), got {memory}")
    n = len(candles)
    bins = len(edges) - 1
    groups = max(1, math.ceil(n / k)) if n else 0
    grid = np.zeros((groups, bins))
    if n == 0:
        return DepthGrid(np.zeros(0, np.int64), edges, grid, grid.copy())
    lo, hi = candles.low, candles.high
    span = np.maximum(hi - lo, 1e-12)
    left, right = edges[:-1][None, :], edges[1:][None, :]
    overlap = np.clip(np.minimum(hi[:, None], right) - np.maximum(lo[:, None], left), 0, None)
    flat = hi - lo <= 1e-12  # a one-price candle: all of it in its bin
    share = overlap / span[:, None]
    if flat.any():
        p = np.clip(np.searchsorted(edges, lo[flat], side="right") - 1, 0, bins - 1)
        share[flat] = 0.0
        share[np.flatnonzero(flat), p] = 1.0
    vol = share * candles.volume[:, None]
    group_of = np.arange(n) // k
    np.add.at(grid, group_of, vol)
    if memory > 0.0:
        for t in range(1, groups):
            grid[t] += memory * grid[t - 1]
    mids = 0.5 * (edges[:-1] + edges[1:])
    last_close = candles.close[np.minimum((np.arange(groups) + 1) * k, n) - 1]
    below = mids[None, :] < last_close[:, None]
    start = first_index + np.arange(groups, dtype=np.int64) * k
    return DepthGrid(start, edges, np.where(below, grid, 0.0), np.where(below, 0.0, grid))


def depth_surface(
    grid: DepthGrid,
    scale: PriceScale,
    depth: float,
    bid: tuple[float, float, float, float],
    ask: tuple[float, float, float, float],
    x_step: float = X_STEP,
    end_index: int | None = None,
) -> Mesh:
    """The grid as a stepped surface behind the candles: one quad per (time, price)
    cell, pushed back towards +y by its size (the largest cell ``depth`` deep), bid
    cells coloured ``bid`` and ask cells ``ask``, brighter and more opaque where deeper;
    cells under ``FAINT`` of the deepest are transparent."""
    t_n, p_n = grid.bids.shape
    if t_n == 0 or p_n == 0:
        return Mesh(
            np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32), np.zeros((0, 4), np.float32)
        )
    total = grid.total
    peak = float(total.max()) or 1.0
    x0 = grid.start.astype(float) * x_step - 0.5 * x_step
    last = grid.start[-1] + (grid.start[-1] - grid.start[-2] if t_n > 1 else 1)
    x_end = np.append(grid.start[1:], last if end_index is None else end_index).astype(float)
    x1 = x_end * x_step - 0.5 * x_step
    z = scale.z(grid.edges)
    z0, z1 = z[:-1], z[1:]
    y = DEPTH_OFFSET + depth * (total / peak)
    # a quad per cell: corners (x0,z0) (x1,z0) (x1,z1) (x0,z1) at height y[t,p]
    xs = np.stack([x0, x1, x1, x0], axis=1)[:, None, :].repeat(p_n, axis=1)
    zs = np.stack([z0, z0, z1, z1], axis=1)[None, :, :].repeat(t_n, axis=0)
    ys = np.repeat(y[:, :, None], 4, axis=2)
    verts = np.stack([xs, ys, zs], axis=3).reshape(-1, 3).astype(np.float32)
    cells = t_n * p_n
    faces = (np.arange(cells, dtype=np.uint32)[:, None, None] * 4 + _QUAD_TRIS[None]).reshape(-1, 3)
    is_bid = grid.bids >= grid.asks
    base = np.where(is_bid[:, :, None], np.array(bid, np.float32), np.array(ask, np.float32))
    strength = np.sqrt(total / peak)
    rgba = base.copy()
    rgba[:, :, :3] *= (0.35 + 0.65 * strength)[:, :, None]
    rgba[:, :, 3] *= strength  # thin depth fades out, deep walls stand out
    rgba[total < FAINT * peak] = (0.0, 0.0, 0.0, 0.0)
    colors = np.repeat(rgba.reshape(cells, 1, 4), 4, axis=1).reshape(-1, 4).astype(np.float32)
    return Mesh(verts, faces, colors)
