"""The 3D chart's buffers, checked by hand: boxes, wicks, merges, volume at price,
book depth and the level-of-detail choice."""

from __future__ import annotations

import numpy as np
import pytest

from task_station.gui.depth3d import geometry as geo
from task_station.gui.depth3d.geometry import CandleArrays, PriceScale

UP = (0.0, 1.0, 0.0, 1.0)
DOWN = (1.0, 0.0, 0.0, 1.0)


def candles(rows: list[tuple[float, float, float, float, float]]) -> CandleArrays:
    o, h, lo, c, v = (list(col) for col in zip(*rows, strict=True))
    return CandleArrays.from_lists([i * 60_000 for i in range(len(rows))], o, h, lo, c, v)


def test_a_body_spans_open_to_close_at_its_slot() -> None:
    cs = candles([(10, 12, 9, 11, 1), (11, 11.5, 8, 9, 2)])
    scale = PriceScale(8.0, 12.0, 40.0)  # 10 world units a price unit
    mesh = geo.candle_boxes(cs, 5, scale, UP, DOWN)
    assert mesh.vertexes.shape == (48, 3) and mesh.faces.shape == (24, 3)
    first, second = mesh.vertexes[:24], mesh.vertexes[24:]
    assert first[:, 0].min() == pytest.approx(5 - 0.35) and first[:, 0].max() == pytest.approx(5.35)
    assert first[:, 2].min() == pytest.approx(20.0) and first[:, 2].max() == pytest.approx(30.0)
    assert second[:, 2].min() == pytest.approx(10.0) and second[:, 2].max() == pytest.approx(30.0)
    # up is green, down is red, each face shaded, never brighter than the colour itself
    assert np.all(mesh.colors[:24, 0] == 0) and np.all(mesh.colors[:24, 1] > 0)
    assert np.all(mesh.colors[24:, 1] == 0) and np.all(mesh.colors[24:, 0] > 0)
    assert mesh.colors[:, :3].max() == pytest.approx(1.0)
    assert mesh.faces.max() == 47


def test_every_box_triangle_lies_on_its_box_surface() -> None:
    lo = np.array([[0, 0, 0], [2, 1, 3]], np.float32)
    hi = np.array([[1, 2, 3], [4, 2, 5]], np.float32)
    mesh = geo.boxes(lo, hi, np.ones((2, 4), np.float32))
    for b in range(2):
        tri = mesh.vertexes[mesh.faces[b * 12 : (b + 1) * 12]]
        on_face = np.isclose(tri, lo[b]) | np.isclose(tri, hi[b])
        # each triangle keeps one coordinate on one face plane of its own box
        assert np.all(np.any(np.all(on_face, axis=1), axis=1))
        assert np.allclose(tri.min(axis=(0, 1)), lo[b]) and np.allclose(tri.max(axis=(0, 1)), hi[b])


def test_a_doji_keeps_a_visible_body() -> None:
    cs = candles([(10, 11, 9, 10, 1)])
    mesh = geo.candle_boxes(cs, 0, PriceScale(9, 11, 100), UP, DOWN)
    assert mesh.vertexes[:, 2].max() - mesh.vertexes[:, 2].min() > 0


def test_wicks_run_from_low_to_high() -> None:
    cs = candles([(10, 12, 9, 11, 1)])
    pts = geo.wick_segments(cs, 3, PriceScale(9, 12, 30))
    assert pts.tolist() == [[3.0, 0.0, 0.0], [3.0, 0.0, 30.0]]


def test_merge_is_an_exact_ohlcv_merge() -> None:
    rows = [
        (10, 12, 9, 11, 1),
        (11, 15, 10, 14, 2),
        (14, 14, 7, 8, 3),
        (8, 9, 6, 9, 4),
        (9, 10, 8, 10, 5),
    ]
    merged = geo.merge(candles(rows), 2)
    assert merged.open.tolist() == [10, 14, 9]
    assert merged.high.tolist() == [15, 14, 10]
    assert merged.low.tolist() == [9, 6, 8]
    assert merged.close.tolist() == [14, 9, 10]
    assert merged.volume.tolist() == [3, 7, 5]
    assert merged.ts.tolist() == [0, 120_000, 240_000]
    with pytest.raises(ValueError, match="at least 1"):
        geo.merge(candles(rows), 0)


@pytest.mark.parametrize(
    ("visible", "cap", "level"),
    [(100, 3000, 1), (3000, 3000, 1), (3001, 3000, 2), (100_000, 3000, 64)],
)
def test_the_level_keeps_boxes_under_the_cap(visible: float, cap: int, level: int) -> None:
    assert geo.level_for(visible, cap) == level
    assert visible / level <= cap


def test_volume_at_price_conserves_volume_and_splits_by_overlap() -> None:
    cs = candles([(10, 12, 10, 12, 4), (11, 11, 11, 11, 2)])
    edges = geo.price_edges(10, 14, 4)  # bins of 1
    grid = geo.volume_profile(cs, 0, edges)
    assert grid.total[0].tolist() == [2, 2, 0, 0]  # 10..12 over two bins
    assert grid.total[1].tolist() == [0, 2, 0, 0]  # a one-price candle: its own bin
    assert grid.total.sum() == pytest.approx(6)
    # below the close is bid, above it ask
    assert grid.bids[1].tolist() == [0, 0, 0, 0] and grid.asks[1].tolist() == [0, 2, 0, 0]
    kept = geo.volume_profile(cs, 0, edges, memory=0.5)
    assert kept.total[1].tolist() == [1, 3, 0, 0]
    with pytest.raises(ValueError, match="memory"):
        geo.volume_profile(cs, 0, edges, memory=1.0)


def test_book_snapshots_bin_their_levels() -> None:
    edges = geo.price_edges(99, 103, 4)
    grid = geo.from_books(
        np.array([0, 10]),
        [
            ([(100.5, 2.0), (99.2, 1.0), (50.0, 9.0)], [(101.5, 3.0), (101.7, 1.0)]),
            ([], [(102.5, 4.0)]),
        ],
        edges,
    )
    assert grid.bids[0].tolist() == [1, 2, 0, 0]
    assert grid.asks[0].tolist() == [0, 0, 4, 0]
    assert grid.asks[1].tolist() == [0, 0, 0, 4]
    with pytest.raises(ValueError, match="one candle index"):
        geo.from_books(np.array([0]), [], edges)


def test_depth_surface_scales_to_the_deepest_cell_and_hides_empty_ones() -> None:
    edges = geo.price_edges(0, 2, 2)
    grid = geo.from_books(
        np.array([0, 1]), [([(0.5, 4.0)], [(1.5, 1.0)]), ([(0.5, 0.0)], [])], edges
    )
    mesh = geo.depth_surface(grid, PriceScale(0, 2, 20), 10.0, UP, DOWN)
    assert mesh.vertexes.shape == (16, 3)
    deepest = mesh.vertexes[0:4, 1]
    assert np.allclose(deepest, geo.DEPTH_OFFSET + 10.0)
    assert np.allclose(mesh.vertexes[4:8, 1], geo.DEPTH_OFFSET + 2.5)
    assert mesh.colors[0, 1] > 0 and mesh.colors[4, 0] > 0  # bid green, ask red
    assert np.all(mesh.colors[8:, 3] == 0)  # empty cells are transparent
