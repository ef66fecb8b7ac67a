"""The main window's centre: the chosen bot seen as tabs (its candle chart with the
parameter handles, its analytics, and its market in 3D).

Every tab follows the bot chosen in the Bots dock. The 3D tab needs OpenGL, which Qt's
headless platforms lack: there it says so instead of failing, and it is built only when
first opened (a GL context costs start-up time the other tabs do not need).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from task_station.domain.candles import Candle
from task_station.domain.errors import NotFoundError
from task_station.domain.events import BarClosed
from task_station.engine.bus import EventBus
from task_station.gui.bot_analytics import BotAnalyticsView
from task_station.gui.bot_chart import BotChartPanel
from task_station.gui.live import BusLink
from task_station.services.analytics import AnalyticsService
from task_station.services.bots import BotService
from task_station.services.principal import Principal
from task_station.services.strategies import StrategyService
from task_station.services.trading import OrderService

if TYPE_CHECKING:
    from task_station.gui.depth3d.geometry import CandleArrays

#: Qt platforms that cannot host an OpenGL widget.
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc"})


def opengl_available() -> bool:
    return QGuiApplication.platformName() not in HEADLESS_PLATFORMS


class ChartArea(QTabWidget):
    CHART, ANALYTICS, DEPTH3D = range(3)

    def __init__(
        self,
        bots: BotService,
        orders: OrderService,
        bus: EventBus,
        *,
        strategies: StrategyService | None = None,
        principal: Principal | None = None,
        analytics: AnalyticsService | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("chartArea")
        self.setDocumentMode(True)
        self._bots = bots
        self.bot_id: str | None = None
        self.chart_panel = BotChartPanel(
            bots, orders, bus, self, strategies=strategies, principal=principal
        )
        self.addTab(self.chart_panel, "Chart")
        self.analytics = BotAnalyticsView(analytics or AnalyticsService(bots, orders), bus, self)
        self.addTab(self.analytics, "Analytics")
        self._depth_holder = QWidget()
        self._depth_layout = QVBoxLayout(self._depth_holder)
        self._depth_layout.setContentsMargins(0, 0, 0, 0)
        self.depth3d: QWidget | None = None
        self.addTab(self._depth_holder, "3D depth")
        self.currentChanged.connect(self._on_tab)
        self.link = BusLink(self, bus)
        self.link.on(BarClosed, self._on_bar)

    def show_bot(self, bot_id: str | None) -> None:
        self.bot_id = bot_id
        self.chart_panel.show_bot(bot_id)
        self.analytics.show_bot(bot_id)
        if self.depth3d is not None:
            self._load_depth3d()

    def _on_tab(self, index: int) -> None:
        if index == self.DEPTH3D and self.depth3d is None:
            self._build_depth3d()

    def _build_depth3d(self) -> None:
        layout = self._depth_layout
        if not opengl_available():
            note = QLabel(
                "The 3D depth chart needs an OpenGL display; Qt runs on the "
                f"'{QGuiApplication.platformName()}' platform here."
            )
            note.setAlignment(Qt.AlignmentFlag.AlignCenter)
            note.setWordWrap(True)
            layout.addWidget(note)
            self.depth3d = note
            return
        from task_station.gui.depth3d.chart import DepthCandleChart  # needs OpenGL

        chart = DepthCandleChart(self._depth_holder)
        layout.addWidget(chart)
        self.depth3d = chart
        self._load_depth3d()

    def _load_depth3d(self) -> None:
        from task_station.gui.depth3d.chart import DepthCandleChart

        chart = self.depth3d
        if not isinstance(chart, DepthCandleChart) or self.bot_id is None:
            return
        try:
            candles = self._bots.bars(self.bot_id)
        except NotFoundError:
            return
        if candles:
            chart.set_data(_columns(candles))

    def _on_bar(self, event: BarClosed) -> None:
        from task_station.gui.depth3d.chart import DepthCandleChart

        chart = self.depth3d
        if isinstance(chart, DepthCandleChart) and event.bot_id == self.bot_id:
            chart.view.append(_columns([event.candle]))


def _columns(candles: list[Candle]) -> CandleArrays:
    from task_station.gui.depth3d.geometry import CandleArrays

    def col(name: str) -> np.ndarray:
        return np.array([float(getattr(c, name)) for c in candles])

    ts = np.array([int(c.ts.timestamp() * 1000) for c in candles], dtype=np.int64)
    return CandleArrays(ts, col("open"), col("high"), col("low"), col("close"), col("volume"))
