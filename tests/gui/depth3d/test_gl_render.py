"""The 3D chart on a real GL context: the candles are where the camera says they are,
in their colours, hover finds them, and level of detail bounds what is drawn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from task_station.gui.depth3d.geometry import SHADES, hex_rgba
from task_station.gui.palette import CANDLE_DOWN, CANDLE_UP, COLORS

PROBE = Path(__file__).with_name("gl_probe.py")


@pytest.fixture(scope="module")
def probe() -> dict[str, object]:
    if not os.environ.get("DISPLAY"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the GL tests on an X display (xvfb-run, see .ci/run)")
        pytest.skip("no X display: run under xvfb-run to test the OpenGL chart")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run(
        [sys.executable, str(PROBE)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def front_face(color: str) -> list[int]:
    r, g, b, _ = hex_rgba(color)
    return [round(v * SHADES[2] * 255) for v in (r, g, b)]


def test_each_candle_shows_its_colour_where_it_projects(probe: dict[str, object]) -> None:
    expected = [front_face(CANDLE_UP), front_face(CANDLE_DOWN), front_face(CANDLE_UP)]
    for got, want in zip(probe["samples"], expected, strict=True):  # type: ignore[call-overload]
        assert all(abs(a - b) <= 4 for a, b in zip(got, want, strict=True)), (got, want)


def test_the_background_is_the_theme_colour(probe: dict[str, object]) -> None:
    r, g, b, _ = hex_rgba(COLORS["bg"])
    want = [round(v * 255) for v in (r, g, b)]
    assert all(abs(a - b) <= 2 for a, b in zip(probe["background"], want, strict=True))  # type: ignore[call-overload]


def test_hover_finds_the_candle_under_the_pointer(probe: dict[str, object]) -> None:
    assert probe["hits"] == [0, 1, 2]
    assert "O 130" in str(probe["readout"]) and "C 102" in str(probe["readout"])


def test_level_of_detail_bounds_the_boxes(probe: dict[str, object]) -> None:
    far, near = probe["far"], probe["near"]
    assert far["level"] > 1 and far["boxes"] <= 3000  # type: ignore[index]
    assert near["level"] == 1 and near["boxes"] == 3000  # type: ignore[index]
    assert near["built"] == [1, 97_000, 100_000]  # type: ignore[index]
