"""The 3D depth-candle chart as a panel: the GL view, a hover readout and a reset."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from task_station.gui.depth3d.geometry import CandleArrays, DepthGrid
from task_station.gui.depth3d.view import DepthCandleView


class DepthCandleChart(QWidget):
    """A ``DepthCandleView`` with a one-line readout of the hovered candle."""

    def __init__(self, parent: QWidget | None = None, *, max_boxes: int = 3000) -> None:
        super().__init__(parent)
        self.view = DepthCandleView(self, max_boxes=max_boxes)
        self.readout = QLabel("Drag to orbit, wheel to zoom, middle button to pan")
        self.readout.setObjectName("chartReadout")
        reset = QPushButton("Reset view")
        reset.clicked.connect(self.reset_view)
        bar = QHBoxLayout()
        bar.addWidget(self.readout, 1)
        bar.addWidget(reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.view.hovered.connect(self._on_hover)
        self._data: tuple[CandleArrays, DepthGrid | None] | None = None

    def set_data(self, candles: CandleArrays, books: DepthGrid | None = None) -> None:
        self._data = (candles, books)
        self.view.set_data(candles, books)

    def reset_view(self) -> None:
        if self._data is not None:
            self.view.set_data(*self._data)
            self.view.setCameraPosition(elevation=16, azimuth=-62)

    def _on_hover(self, text: str) -> None:
        if text:
            self.readout.setText(text)
