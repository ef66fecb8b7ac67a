"""The depth chart: cumulative bid and ask size against price, from an order book.

Bids step down-left from the best bid, asks step up-right from the best ask, each
filled to the axis, with the mid price marked and a hover readout of the cumulative
size and quote value at the pointer. It follows ``BookUpdated`` events of one market,
redrawing at most ``fps`` times a second however fast the book ticks.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from task_station.domain.market_feed import BookUpdated
from task_station.engine.bus import EventBus
from task_station.gui.live import BusLink, Coalescer
from task_station.gui.palette import BUY, COLORS, SELL

Levels = Sequence[tuple[Decimal, Decimal]]


def cumulative(levels: Levels) -> tuple[np.ndarray, np.ndarray]:
    """Prices and running size totals, best level first."""
    if not levels:
        return np.zeros(0), np.zeros(0)
    prices = np.array([float(p) for p, _ in levels])
    sizes = np.cumsum([float(s) for _, s in levels])
    return prices, sizes


class DepthChart(QWidget):
    def __init__(self, bus: EventBus | None = None, parent: QWidget | None = None, fps: int = 10):
        super().__init__(parent)
        self.market: tuple[str, str] | None = None
        self.plot = pg.PlotWidget()
        self.plot.setBackground(COLORS["bg"])
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("left", "cumulative size")
        self.bid_curve = self.plot.plot(
            stepMode="right", pen=pg.mkPen(BUY, width=2), fillLevel=0, brush=pg.mkBrush(BUY + "40")
        )
        self.ask_curve = self.plot.plot(
            stepMode="left", pen=pg.mkPen(SELL, width=2), fillLevel=0, brush=pg.mkBrush(SELL + "40")
        )
        self.mid_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(COLORS["accent"], width=1))
        self.plot.addItem(self.mid_line, ignoreBounds=True)
        self.readout = QLabel("No order book yet")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.readout)
        layout.addWidget(self.plot, 1)
        self._bids: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
        self._asks: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
        self._pending: BookUpdated | None = None
        self._redraw = Coalescer(self._draw_pending, max(1, 1000 // fps), self)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)
        if bus is not None:
            self.link = BusLink(self, bus)
            self.link.on(BookUpdated, self._on_book)

    def follow(self, venue: str, symbol: str) -> None:
        """Show the book of ``venue``'s ``symbol`` from its next update on."""
        self.market = (venue, symbol)

    def set_book(self, bids: Levels, asks: Levels) -> None:
        """Draw a book (levels best first)."""
        self._bids, self._asks = cumulative(bids), cumulative(asks)
        bp, bs = self._bids
        ap, asz = self._asks
        # bids drawn left to right (worst to best), so the step rises towards the mid
        self.bid_curve.setData(bp[::-1], bs[::-1])
        self.ask_curve.setData(ap, asz)
        if len(bp) and len(ap):
            mid = (bp[0] + ap[0]) / 2
            self.mid_line.setValue(mid)
            self.mid_line.show()
            spread = ap[0] - bp[0]
            self.readout.setText(
                f"mid {mid:.6g}  ·  spread {spread:.6g} ({spread / mid * 1e4:.1f} bp)  ·  "
                f"bids {bs[-1]:.6g}  ·  asks {asz[-1]:.6g}"
            )
        else:
            self.mid_line.hide()

    def depth_at(self, price: float) -> tuple[str, float] | None:
        """The side and cumulative size a trader would meet down (bids) or up (asks) to
        ``price`` (None outside the book)."""
        bp, bs = self._bids
        ap, asz = self._asks
        if len(ap) and price >= ap[0]:
            i = int(np.searchsorted(ap, price, side="right")) - 1
            return "asks", float(asz[min(i, len(asz) - 1)])
        if len(bp) and price <= bp[0]:
            i = int(np.searchsorted(-bp, -price, side="right")) - 1
            return "bids", float(bs[min(i, len(bs) - 1)])
        return None

    def _on_book(self, event: BookUpdated) -> None:
        if self.market == (event.venue, event.symbol):
            self._pending = event
            self._redraw.request()

    def _draw_pending(self) -> None:
        event, self._pending = self._pending, None
        if event is not None:
            self.set_book(
                [(lvl[0], lvl[1]) for lvl in event.bids], [(lvl[0], lvl[1]) for lvl in event.asks]
            )

    def _on_mouse(self, pos: QPointF) -> None:
        box = self.plot.getPlotItem().vb
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        price = box.mapSceneToView(pos).x()
        hit = self.depth_at(price)
        if hit is not None:
            side, size = hit
            self.readout.setText(f"{side} to {price:.6g}: {size:.6g} ({size * price:,.2f} quote)")
