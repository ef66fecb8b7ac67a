"""The station's log: the newest entries of its JSON-lines file, by level and text.

Reads through ``LogService`` (admins only, as ``GET /logs``), follows the file while the
dock is visible, and shows an entry's traceback in the box below the table.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock
from task_station.gui.live import Coalescer
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.logs import LEVELS, LogEntry, LogService
from task_station.services.principal import Principal

POLL_MS = 2000
TAIL = 500
ALL_LEVELS = "All levels"
_LEVEL_COLOURS = {
    "WARNING": COLORS["accent"],
    "ERROR": COLORS["rust"],
    "CRITICAL": COLORS["rust"],
    "DEBUG": COLORS["text_dim"],
}

COLUMNS: list[Column[LogEntry]] = [
    Column("Time", lambda e: "" if e.time is None else f"{e.time:%Y-%m-%d %H:%M:%S}"),
    Column("Level", lambda e: e.level, lambda e: _LEVEL_COLOURS.get(e.level)),
    Column("Logger", lambda e: e.logger, lambda e: COLORS["text_dim"]),
    Column("Message", lambda e: e.message.splitlines()[0] if e.message else ""),
]


class LogsDock(TableDock[LogEntry]):
    """The log's tail with a minimum level and a search box."""

    def __init__(
        self,
        logs: LogService,
        bus: EventBus,
        principal: Principal,
        parent: QWidget | None = None,
        poll_ms: int = POLL_MS,
    ) -> None:
        super().__init__(
            "Logs", "logsDock", bus, COLUMNS, key=lambda e: (e.time, e.logger, e.message),
            parent=parent, stretch=3,
        )  # fmt: skip
        self._logs = logs
        self._principal = principal
        self.level = QComboBox()
        self.level.addItems([ALL_LEVELS, *LEVELS])
        self.level.setCurrentText("INFO")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search messages and loggers…")
        self.search.setClearButtonEnabled(True)
        self.status = QLabel()
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setMaximumHeight(120)
        filters = QHBoxLayout()
        filters.addWidget(self.level)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.status)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.detail)
        self.setWidget(body)
        self._typing = Coalescer(self.refresh, 250, self)  # one read per pause in typing
        self.level.currentTextChanged.connect(self.refresh)
        self.search.textChanged.connect(self._typing.request)
        self.view.clicked.connect(self._show_detail)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.refresh()

    def load(self) -> list[LogEntry]:
        level = self.level.currentText()
        try:
            entries = self._logs.tail(
                self._principal,
                limit=TAIL,
                level=None if level == ALL_LEVELS else level,
                search=self.search.text(),
            )
        except TaskStationError as exc:
            self.status.setText(str(exc))
            return []
        where = self._logs.path
        self.status.setText(
            f"{len(entries)} entries"
            if where is not None
            else "the station logs to the console only"
        )
        return entries

    def refresh(self) -> None:
        at_end = self.view.verticalScrollBar().value() >= self.view.verticalScrollBar().maximum()
        super().refresh()
        if at_end:  # following the tail, as `tail -f` does
            self.view.scrollToBottom()

    def _show_detail(self, index: QModelIndex) -> None:
        entry = self.model.row_record(index.row())
        self.detail.setPlainText(entry.text)

    def _tick(self) -> None:
        if self.isVisible():
            self.refresh()
