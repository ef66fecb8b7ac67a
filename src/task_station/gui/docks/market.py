"""The Market dock: a watchlist with live prices, the download manager, and the stored
data with its gaps and replay controls.

Three tabs over ``MarketDataService`` and the bus (``market_watch``, ``market_store``);
like every dock it calls services only, so what it does the API and the CLI do too. The
watchlist is kept in QSettings.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from task_station.domain.clock import Clock
from task_station.domain.symbols import MarketSymbol
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TaskRunner
from task_station.gui.docks.market_downloads import DownloadsPanel
from task_station.gui.docks.market_store import StoredDataPanel
from task_station.gui.docks.market_watch import WatchlistPanel
from task_station.services.market_data import MarketDataService
from task_station.services.market_live import LiveWatchService
from task_station.services.principal import Principal

__all__ = ["MarketDock"]


class MarketDock(QDockWidget):
    """``error(message)`` when something fails; ``message(text)`` for the status bar."""

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        service: MarketDataService,
        bus: EventBus,
        actor: Principal,
        clock: Clock,
        parent: QWidget | None = None,
        *,
        settings: QSettings | None = None,
        live: LiveWatchService | None = None,
    ) -> None:
        super().__init__("Market", parent)
        self.setObjectName("marketDock")  # QMainWindow.saveState finds docks by name
        self._service = service
        self._actor = actor
        self._runner = TaskRunner(self.error.emit)
        record = self.toggle_recording if actor.role.can_trade() else None
        self._live = live
        self.watch = WatchlistPanel(
            bus, settings, record=record, live=self._set_live if live is not None else None
        )
        self.downloads = DownloadsPanel(service, bus, actor, clock)
        self.stored = StoredDataPanel(service, bus, actor)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.watch, "Watchlist")
        # the dock shares its column with narrow docks: wide rows scroll, not widen it
        self.tabs.addTab(_scrolled(self.downloads), "Downloads")
        self.tabs.addTab(_scrolled(self.stored), "Stored data")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self.setWidget(body)
        for panel in (self.watch, self.downloads, self.stored):
            panel.error.connect(self.error.emit)
        for source in (self.downloads, self.stored):
            source.message.connect(self.message.emit)
        self.error.connect(self.status.setText)
        self.message.connect(self.status.setText)

    def _set_live(self, market: str, on: bool) -> None:
        assert self._live is not None
        if on:
            self._live.watch(self._actor, market)
        else:
            self._live.unwatch(self._actor, market)

    def toggle_recording(self, market: str) -> None:
        """Record ``market`` from the bus, or stop recording it if it is recorded."""
        symbol = MarketSymbol.parse(market)
        recorded = {(r.venue, r.symbol) for r in self._service.recordings()}
        if (symbol.venue, symbol.pair) in recorded:

            async def stop() -> None:
                view = await self._service.stop_recording(self._actor, market)
                self.message.emit(f"stopped recording {market}: {view.trades_recorded} trades, "
                                  f"{view.book_snapshots} book snapshots")  # fmt: skip

            self._runner.launch(f"stop recording {market}", stop)
            return

        async def start() -> None:
            self._service.start_recording(self._actor, market)
            self.message.emit(f"recording {market}")

        self._runner.launch(f"record {market}", start)


def _scrolled(panel: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(panel)
    return area
