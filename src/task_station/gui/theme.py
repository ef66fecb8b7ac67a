"""The dark theme: a QPalette for native drawing plus the QSS template in resources.

Both read ``palette.COLORS`` so a colour is changed in one place. Fusion is used as the
base style because it honours palettes and stylesheets the same on every platform.
"""

from __future__ import annotations

from string import Template

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from task_station.gui.palette import COLORS
from task_station.gui.resources import resource_path


def stylesheet(name: str = "dark") -> str:
    """The theme's QSS with every ``$colour`` placeholder filled in."""
    text = resource_path("themes", f"{name}.qss").read_text(encoding="utf-8")
    return Template(text).substitute(COLORS)


def dark_palette() -> QPalette:
    """A palette matching the QSS, for widgets and dialogs the stylesheet misses."""
    c = {name: QColor(value) for name, value in COLORS.items()}
    role = QPalette.ColorRole
    palette = QPalette()
    for r, colour in (
        (role.Window, c["bg"]),
        (role.WindowText, c["text"]),
        (role.Base, c["bg"]),
        (role.AlternateBase, c["bg_alt"]),
        (role.ToolTipBase, c["surface"]),
        (role.ToolTipText, c["text"]),
        (role.Text, c["text"]),
        (role.Button, c["surface"]),
        (role.ButtonText, c["text"]),
        (role.BrightText, c["accent"]),
        (role.Highlight, c["selection"]),
        (role.HighlightedText, c["accent"]),
        (role.Link, c["accent"]),
        (role.PlaceholderText, c["text_dim"]),
    ):
        palette.setColor(r, colour)
    palette.setColor(QPalette.ColorGroup.Disabled, role.Text, c["text_dim"])
    palette.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, c["text_dim"])
    return palette


def apply_theme(app: QApplication, name: str = "dark") -> None:
    """Give ``app`` the station's look (idempotent)."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(stylesheet(name))
