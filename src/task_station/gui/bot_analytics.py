"""Per-bot analytics: equity, drawdown and exposure over time, the P&L distribution of
its round trips, the trade list and the headline risk metrics.

Everything comes from ``AnalyticsService.bot`` (the same arithmetic as a backtest's
report); the view refreshes, at most once a second, when the shown bot closes a bar or
fills an order.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import NotFoundError
from task_station.domain.events import BarClosed, OrderFilled
from task_station.engine.bus import EventBus
from task_station.gui.art import EmptyState
from task_station.gui.formatting import fmt_money, fmt_signed, fmt_time
from task_station.gui.live import BusLink, Coalescer
from task_station.gui.palette import BUY, COLORS, SELL
from task_station.services.analytics import AnalyticsService, BotAnalytics

REFRESH_MS = 1000
TRADE_COLUMNS = (
    "Entry",
    "Exit",
    "Side",
    "Qty",
    "Entry px",
    "Exit px",
    "P&L",
    "Return",
    "Why in",
    "Why out",
)
#: The headline figures, in order: (title, how to read it off the analytics).
SUMMARY = (
    "Equity", "Return", "Max drawdown", "Sharpe", "Sortino", "Win rate", "Profit factor",
    "Trades", "Exposure", "Fees",
)  # fmt: skip


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.2f} %"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def summary_texts(a: BotAnalytics) -> dict[str, str]:
    """What the summary row shows for ``a`` (tests read the same texts)."""
    m = a.metrics
    return {
        "Equity": fmt_money(Decimal(repr(a.final_equity))),
        "Return": _pct(m.total_return if m else None),
        "Max drawdown": _pct(-m.max_drawdown if m else None),
        "Sharpe": _num(m.sharpe if m else None),
        "Sortino": _num(m.sortino if m else None),
        "Win rate": "—" if m is None or m.win_rate is None else f"{m.win_rate * 100:.1f} %",
        "Profit factor": _num(m.profit_factor if m else None),
        "Trades": str(len(a.trades)),
        "Exposure": "—" if m is None else f"{m.exposure * 100:.1f} %",
        "Fees": fmt_money(m.fees_paid if m else None),
    }


class BotAnalyticsView(QWidget):
    def __init__(
        self, analytics: AnalyticsService, bus: EventBus, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._analytics = analytics
        self.bot_id: str | None = None
        self.current: BotAnalytics | None = None
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        per_row = 5  # two rows of figures: the view stays usable in a narrow window
        for i, title in enumerate(SUMMARY):
            name = QLabel(title)
            name.setObjectName("metricName")
            value = QLabel("—")
            value.setObjectName("metricValue")
            row, col = divmod(i, per_row)
            grid.addWidget(name, 2 * row, col)
            grid.addWidget(value, 2 * row + 1, col)
            self.values[title] = value
        self.curves = pg.GraphicsLayoutWidget()
        self.curves.setBackground(COLORS["bg"])
        axis = {"bottom": pg.DateAxisItem(orientation="bottom", utcOffset=0)}
        self.equity_plot = self.curves.addPlot(row=0, col=0, axisItems=axis, title="Equity")
        self.drawdown_plot = self.curves.addPlot(
            row=1, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)}, title="Drawdown"
        )
        self.exposure_plot = self.curves.addPlot(
            row=2, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)}, title="Exposure"
        )
        for plot in (self.drawdown_plot, self.exposure_plot):
            plot.setXLink(self.equity_plot)
        self.curves.ci.layout.setRowStretchFactor(0, 3)
        self.equity_curve = self.equity_plot.plot(pen=pg.mkPen(COLORS["accent"], width=2))
        self.drawdown_curve = self.drawdown_plot.plot(
            pen=pg.mkPen(SELL, width=1), fillLevel=0, brush=pg.mkBrush(SELL + "55")
        )
        self.exposure_curve = self.exposure_plot.plot(
            pen=pg.mkPen(BUY, width=1), fillLevel=0, brush=pg.mkBrush(BUY + "44")
        )
        self.pnl_plot = pg.PlotWidget(title="Round-trip P&L")
        self.pnl_plot.setBackground(COLORS["bg"])
        self.pnl_bars = pg.BarGraphItem(x=[], height=[], width=1.0, brushes=[])
        self.pnl_plot.addItem(self.pnl_bars)
        self.trades = QTableWidget(0, len(TRADE_COLUMNS))
        self.trades.setHorizontalHeaderLabels(list(TRADE_COLUMNS))
        self.trades.verticalHeader().hide()
        self.trades.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.trades.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.pnl_plot)
        lower.addWidget(self.trades)
        lower.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.curves)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.empty = EmptyState(
            "Choose a bot: its equity, drawdown and trades appear here.", size=72
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(grid)
        layout.addWidget(self.empty)
        layout.addWidget(split, 1)
        self._split = split
        self._refresh = Coalescer(self.refresh, REFRESH_MS, self)
        self.link = BusLink(self, bus)
        self.link.on(BarClosed, self._on_bar)
        self.link.on(OrderFilled, self._on_fill)
        self.show_bot(None)

    def show_bot(self, bot_id: str | None) -> None:
        self.bot_id = bot_id
        self.refresh()

    def refresh(self) -> None:
        """Recompute the shown bot's analytics and redraw everything."""
        analytics = None
        if self.bot_id is not None:
            try:
                analytics = self._analytics.bot(self.bot_id)
            except NotFoundError:
                self.bot_id = None
        self.current = analytics
        has_data = analytics is not None and analytics.bars > 0
        self.empty.setVisible(not has_data)
        self._split.setVisible(has_data)
        if analytics is None:
            for label in self.values.values():
                label.setText("—")
            return
        for title, text in summary_texts(analytics).items():
            self.values[title].setText(text)
        x = analytics.timestamps_ms / 1000.0
        self.equity_curve.setData(x, analytics.equity)
        self.drawdown_curve.setData(x, -analytics.drawdown * 100)
        self.exposure_curve.setData(x, analytics.exposure * 100)
        pnls = np.array([float(p) for p in analytics.trade_pnls])
        colors = [pg.mkBrush(BUY if p >= 0 else SELL) for p in pnls]
        self.pnl_bars.setOpts(x=np.arange(len(pnls)), height=pnls, width=0.8, brushes=colors)
        self._fill_trades(analytics)

    def _fill_trades(self, a: BotAnalytics) -> None:
        rows = list(reversed(a.trades))  # newest first
        self.trades.setRowCount(len(rows))
        for r, t in enumerate(rows):
            cells = (
                fmt_time(t.entry_ts),
                fmt_time(t.exit_ts) if t.exit_ts else "open",
                str(t.side),
                str(t.quantity.normalize()),
                fmt_money(t.entry_price),
                fmt_money(t.exit_price),
                fmt_signed(t.pnl),
                f"{t.return_pct * 100:+.2f} %",
                t.entry_reason,
                t.exit_reason,
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 6:
                    item.setForeground(pg.mkColor(BUY if t.pnl >= 0 else SELL))
                self.trades.setItem(r, c, item)

    def _on_bar(self, event: BarClosed) -> None:
        if event.bot_id is not None and event.bot_id == self.bot_id:
            self._refresh.request()

    def _on_fill(self, event: OrderFilled) -> None:
        if self.bot_id is not None and event.order.bot_id == self.bot_id:
            self._refresh.request()
