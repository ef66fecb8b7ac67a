"""A read-only table model over a list of records, described by columns.

Each dock declares its columns (title, text, optional colour) and hands fresh rows from
a service; the model decides between an in-place update (same keys: selection and scroll
survive a refresh) and a reset (rows added or removed).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon

R = TypeVar("R")
_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column: its header, how to show a record, an optional text colour and an
    optional icon beside the text."""

    title: str
    text: Callable[[R], str]
    colour: Callable[[R], str | None] | None = None
    numeric: bool = False
    icon: Callable[[R], QIcon | None] | None = None


class RecordTableModel(QAbstractTableModel, Generic[R]):
    """Rows of records of type ``R``; ``key`` identifies a record across refreshes."""

    def __init__(
        self,
        columns: Sequence[Column[R]],
        key: Callable[[R], Hashable],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._key = key
        self._rows: list[R] = []

    # -- data ----------------------------------------------------------------------

    def set_rows(self, rows: Sequence[R]) -> None:
        """Replace the records; keeps views' selection when the same keys come back."""
        new = list(rows)
        if [self._key(r) for r in new] == [self._key(r) for r in self._rows]:
            # same rows in the same order: a layout change keeps selection and lets
            # ResizeToContents columns grow with their new text (dataChanged does not)
            self.layoutAboutToBeChanged.emit()
            self._rows = new
            self.layoutChanged.emit()
            return
        self.beginResetModel()
        self._rows = new
        self.endResetModel()

    def row_record(self, row: int) -> R:
        return self._rows[row]

    def row_of(self, key: Hashable) -> int | None:
        """Row number of the record with ``key``, or None."""
        for i, record in enumerate(self._rows):
            if self._key(record) == key:
                return i
        return None

    def text(self, row: int, column: int) -> str:
        """The text shown in a cell (what tests compare with the services)."""
        return self._columns[column].text(self._rows[row])

    def column_of(self, title: str) -> int:
        return [c.title for c in self._columns].index(title)

    # -- QAbstractTableModel -----------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        column = self._columns[index.column()]
        record = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(record)
        if role == Qt.ItemDataRole.ForegroundRole and column.colour is not None:
            colour = column.colour(record)
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.DecorationRole and column.icon is not None:
            return column.icon(record)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            h = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            return h | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._columns[section].title
        return None
