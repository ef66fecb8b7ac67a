"""The Market dock's watchlist: live prices of the markets the trader follows.

``Watchlist`` is the Qt-free model: it takes market events (ticker, trade, candle, pool
price) and keeps the newest quote of each followed ``venue:BASE/QUOTE``. It does not
care who published them: the live feeds and a replay move it alike. ``WatchlistPanel``
shows it, coalescing bursts of events into one repaint, and keeps the list in
QSettings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError, ValidationError
from task_station.domain.events import Event
from task_station.domain.market_feed import (
    CandleUpdated,
    MarketEvent,
    PoolPriceUpdated,
    TickerUpdated,
    TradePrinted,
)
from task_station.domain.symbols import MarketSymbol
from task_station.engine.bus import EventBus
from task_station.gui.formatting import DASH
from task_station.gui.live import BusLink, Coalescer
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column, RecordTableModel

WATCHLIST_KEY = "market/watchlist"
REPAINT_MS = 100
PRICE_EVENTS: tuple[type[MarketEvent], ...] = (
    TickerUpdated,
    TradePrinted,
    CandleUpdated,
    PoolPriceUpdated,
)


@dataclass(frozen=True, slots=True)
class Quote:
    """The newest price of one market and where it came from."""

    market: str
    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    first: Decimal | None = None  # the first price seen: the change is measured from it
    source: str = ""
    updated: datetime | None = None

    @property
    def change(self) -> Decimal | None:
        if self.last is None or not self.first:
            return None
        return (self.last - self.first) / self.first * 100


def _price(event: Event) -> tuple[Decimal | None, str]:
    if isinstance(event, TradePrinted):
        return event.price, "trade"
    if isinstance(event, CandleUpdated):
        return event.candle.close, f"{event.timeframe} bar"
    if isinstance(event, PoolPriceUpdated):
        return event.price, "pool"
    if isinstance(event, TickerUpdated):
        if event.last is not None:
            return event.last, "ticker"
        if event.bid is not None and event.ask is not None:
            return (event.bid + event.ask) / 2, "ticker"
    return None, ""


class Watchlist:
    """Followed markets and their newest quotes (no Qt)."""

    def __init__(self, markets: list[str] | None = None) -> None:
        self._quotes: dict[str, Quote] = {}
        for market in markets or []:
            self.add(market)

    @property
    def markets(self) -> list[str]:
        return list(self._quotes)

    def quotes(self) -> list[Quote]:
        return list(self._quotes.values())

    def quote(self, market: str) -> Quote | None:
        return self._quotes.get(market)

    def add(self, text: str) -> str:
        """Follow ``venue:BASE/QUOTE`` (``SymbolError`` says how to write it)."""
        market = str(MarketSymbol.parse(text))
        self._quotes.setdefault(market, Quote(market))
        return market

    def remove(self, market: str) -> None:
        self._quotes.pop(market, None)

    def on_event(self, event: MarketEvent) -> bool:
        """Take a market event; True when it moved a followed market."""
        try:
            market = str(event.market)
        except ValidationError:  # a venue's own naming the station cannot parse
            return False
        quote = self._quotes.get(market)
        if quote is None:
            return False
        price, source = _price(event)
        if isinstance(event, TickerUpdated):
            quote = replace(quote, bid=event.bid, ask=event.ask)
        if price is not None:
            quote = replace(
                quote, last=price, first=quote.first if quote.first is not None else price,
                source=source, updated=event.ts,
            )  # fmt: skip
        self._quotes[market] = quote
        return True


def _number(value: Decimal | None) -> str:
    return DASH if value is None else f"{value:,f}"


def _change_colour(q: Quote) -> str | None:
    change = q.change
    if change is None or change == 0:
        return None
    return COLORS["teal"] if change > 0 else COLORS["rust"]


COLUMNS: list[Column[Quote]] = [
    Column("Market", lambda q: q.market),
    Column("Last", lambda q: _number(q.last), numeric=True),
    Column("Bid", lambda q: _number(q.bid), numeric=True),
    Column("Ask", lambda q: _number(q.ask), numeric=True),
    Column(
        "Change",
        lambda q: DASH if q.change is None else f"{q.change:+.2f}%",
        _change_colour,
        numeric=True,
    ),
    Column("Source", lambda q: q.source or DASH, lambda q: COLORS["text_dim"]),
    Column("Updated (UTC)", lambda q: DASH if q.updated is None else f"{q.updated:%H:%M:%S}"),
]


class WatchlistPanel(QWidget):
    """The watchlist table with add/remove; ``error(text)`` for a market it refused.

    ``record`` (when given) starts or stops recording the selected market."""

    error = Signal(str)

    def __init__(
        self,
        bus: EventBus,
        settings: QSettings | None,
        parent: QWidget | None = None,
        *,
        record: Callable[[str], None] | None = None,
        live: Callable[[str, bool], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        #: ``live(market, on)`` starts or stops the market's live feed (None: the
        #: watchlist only shows what other producers publish, e.g. a replay)
        self._live = live
        self.watchlist = Watchlist()
        for market in self._stored():
            try:
                self.watchlist.add(market)
            except ValidationError:
                continue  # a name an older version stored: dropped
        self.model: RecordTableModel[Quote] = RecordTableModel(COLUMNS, lambda q: q.market, self)
        self.view = record_table(self, self.model)
        self.market_edit = QLineEdit()
        self.market_edit.setPlaceholderText("venue:BASE/QUOTE, e.g. binance:BTC/USDT")
        self.market_edit.returnPressed.connect(self.add_from_edit)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_from_edit)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.record_button = QPushButton("Record / stop")
        self.record_button.setToolTip("Record the selected market's trades, books and bars")
        self.record_button.setVisible(record is not None)
        self._record = record
        self.record_button.clicked.connect(self._record_selected)
        row = QHBoxLayout()
        row.addWidget(self.market_edit, 1)
        for button in (self.add_button, self.remove_button, self.record_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        self.repaint_soon = Coalescer(self.refresh, REPAINT_MS, self)
        self.link = BusLink(self, bus)
        for event_type in PRICE_EVENTS:
            self.link.on(event_type, self._on_event)
        self.refresh()
        for market in self.watchlist.markets:
            self._set_live(market, True)

    def _set_live(self, market: str, on: bool) -> None:
        if self._live is None:
            return
        try:
            self._live(market, on)
        except TaskStationError as exc:  # the market stays listed; its prices do not come
            self.error.emit(f"{market}: no live prices: {exc}")

    def _stored(self) -> list[str]:
        if self._settings is None:
            return []
        value = self._settings.value(WATCHLIST_KEY)
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value] if isinstance(value, list) else []

    def _save(self) -> None:
        if self._settings is not None:
            self._settings.setValue(WATCHLIST_KEY, self.watchlist.markets)
            self._settings.sync()

    def _on_event(self, event: MarketEvent) -> None:
        if self.watchlist.on_event(event):
            self.repaint_soon.request()

    def refresh(self) -> None:
        self.model.set_rows(self.watchlist.quotes())

    def add_market(self, text: str) -> bool:
        try:
            market = self.watchlist.add(text)
        except ValidationError as exc:
            self.error.emit(str(exc))
            return False
        self._save()
        self.refresh()
        self._set_live(market, True)
        return True

    def add_from_edit(self) -> None:
        if self.add_market(self.market_edit.text()):
            self.market_edit.clear()

    def selected_market(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_record(rows[0].row()).market if rows else None

    def remove_selected(self) -> None:
        market = self.selected_market()
        if market is None:
            self.error.emit("select a market to remove")
            return
        self.watchlist.remove(market)
        self._save()
        self.refresh()
        self._set_live(market, False)

    def _record_selected(self) -> None:
        market = self.selected_market()
        if market is None:
            self.error.emit("select a market to record")
        elif self._record is not None:
            self._record(market)


def record_table(parent: QWidget, model: RecordTableModel[Any], stretch: int = 0) -> QTableView:
    """A read-only, row-selecting table over ``model`` (column ``stretch`` takes the rest)."""
    view = QTableView(parent)
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setShowGrid(False)
    view.verticalHeader().setVisible(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view
