"""The station's colours, in one place for the stylesheet, the palette and the chart.

The look is a little robot's workshop at night: deep navy and charcoal surfaces, a warm
WALL-E yellow/amber accent, rust orange for sells and losses, teal for buys and profits.
Plain strings (no Qt types) so the QSS template and pyqtgraph can share them.
"""

from __future__ import annotations

from typing import Final

COLORS: Final[dict[str, str]] = {
    "bg": "#0f1522",  # window background: deep navy
    "bg_alt": "#141c2c",  # alternating table rows, docks
    "surface": "#1a2336",  # inputs, headers, buttons
    "surface_hi": "#243049",  # hover
    "border": "#2c3850",
    "grid": "#1f2a3f",  # chart grid lines
    "text": "#dfe5ee",
    "text_dim": "#8a96ab",
    "accent": "#f2b33d",  # WALL-E yellow/amber
    "accent_dim": "#b9822a",
    "rust": "#e0672b",  # sells, losses, errors
    "teal": "#2bc4a4",  # buys, profits, running
    "selection": "#3a3220",  # amber-tinted selection
}

#: Colours of the candle bodies and wicks (up: teal, down: rust).
CANDLE_UP: Final = COLORS["teal"]
CANDLE_DOWN: Final = COLORS["rust"]
BUY: Final = COLORS["teal"]
SELL: Final = COLORS["rust"]
