"""What every table dock shares: a thin QTableView over a RecordTableModel that
reloads from a service, at most once per burst of bus events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from task_station.domain.errors import TaskStationError
from task_station.engine.bus import EventBus
from task_station.gui.live import BusLink, Coalescer
from task_station.gui.table_model import Column, RecordTableModel

R = TypeVar("R")
log = logging.getLogger(__name__)

REFRESH_MS = 120
CELL_GAP = 14  # pixels between columns sized to their contents


class _GapDelegate(QStyledItemDelegate):
    """Widen size hints so numbers in adjacent columns do not touch."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(hint.width() + CELL_GAP, hint.height())


class TableDock(QDockWidget, Generic[R]):
    """A dock showing ``load()``'s records; call ``refresh_soon`` from bus handlers.

    ``stretch`` is the column that absorbs spare width (the others fit their contents).
    """

    def __init__(
        self,
        title: str,
        object_name: str,
        bus: EventBus,
        columns: Sequence[Column[R]],
        key: Callable[[R], Hashable],
        parent: QWidget | None = None,
        stretch: int = 1,
    ) -> None:
        super().__init__(title, parent)
        self.setObjectName(object_name)  # QMainWindow.saveState finds docks by name
        self.model: RecordTableModel[R] = RecordTableModel(columns, key, self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setItemDelegate(_GapDelegate(self.view))
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setShowGrid(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(26)
        header = self.view.horizontalHeader()
        # numbers keep their full width; the ``stretch`` column (a name) takes the rest
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self.link = BusLink(self, bus)
        self.refresher = Coalescer(self.refresh, REFRESH_MS, self)

    def refresh_soon(self, *_: object) -> None:
        self.refresher.request()

    def refresh(self) -> None:
        """Reload every record from the services now."""
        self.model.set_rows(self.load())

    def load(self) -> Sequence[R]:
        raise NotImplementedError

    def cell_text(self, row: int, title: str) -> str:
        """The text of a cell by column title (what a trader reads; used by tests)."""
        return self.model.text(row, self.model.column_of(title))


def button_row(*buttons: QPushButton) -> QHBoxLayout:
    """A dock's action buttons, left-aligned."""
    row = QHBoxLayout()
    for button in buttons:
        row.addWidget(button)
    row.addStretch(1)
    return row


class TaskRunner:
    """Runs a dock's service calls on the event loop and reports how each ended.

    A trader-facing failure (``TaskStationError``) is shown as it is; anything else is
    logged with its traceback and shown by type only. ``after`` runs once each call is
    done (a refresh, say). A dock closed before its call ends is not told.
    """

    def __init__(
        self, report: Callable[[str], None], after: Callable[[], None] | None = None
    ) -> None:
        self._report = report
        self._after = after
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def pending(self) -> int:
        """Calls still running."""
        return len(self._tasks)

    def launch(self, what: str, call: Callable[[], Awaitable[None]]) -> asyncio.Future[Any]:
        future = asyncio.ensure_future(call())
        self._tasks.add(future)
        future.add_done_callback(lambda f: self._finished(what, f))
        return future

    def _finished(self, what: str, future: asyncio.Future[Any]) -> None:
        self._tasks.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        try:
            if isinstance(exc, TaskStationError):
                self._report(f"could not {what}: {exc}")
            elif exc is not None:
                log.error("could not %s", what, exc_info=exc)
                self._report(f"could not {what} (internal error: {type(exc).__name__})")
            if self._after is not None:
                self._after()
        except RuntimeError:  # the dock is gone; nobody to tell
            log.debug("%s finished after the dock closed", what)
