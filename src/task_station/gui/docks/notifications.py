"""The in-app notification feed: what the station told the trader, newest first.

New notifications arrive through the bus (``NotificationRaised``); reading marks them
read through ``NotificationService.mark_read``, the same call as
``POST /notifications/read``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QVBoxLayout, QWidget

from task_station.domain.notifications import NotificationRaised
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock, button_row
from task_station.gui.formatting import fmt_time
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.notifications import Notification, NotificationService, Severity

_SEVERITY_COLOUR = {
    Severity.WARNING: COLORS["accent"],
    Severity.ERROR: COLORS["rust"],
    Severity.CRITICAL: COLORS["rust"],
}


def _dim_if_read(notification: Notification) -> str | None:
    return COLORS["text_dim"] if notification.read else None


COLUMNS: list[Column[Notification]] = [
    Column("Time", lambda n: fmt_time(n.ts), _dim_if_read),
    Column(
        "Severity",
        lambda n: n.severity.label,
        lambda n: _SEVERITY_COLOUR.get(n.severity, COLORS["text_dim"]),
    ),
    Column("Title", lambda n: n.title, _dim_if_read),
    Column("Message", lambda n: n.body.replace("\n", " "), _dim_if_read),
    Column("Kind", lambda n: n.kind, lambda n: COLORS["text_dim"]),
]


class NotificationsDock(TableDock[Notification]):
    """``unread_changed(count)`` whenever the number of unread notifications may have
    changed (the window shows it)."""

    unread_changed = Signal(int)

    def __init__(
        self, notifications: NotificationService, bus: EventBus, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "Notifications", "notificationsDock", bus, COLUMNS, key=lambda n: n.id,
            parent=parent, stretch=3,
        )  # fmt: skip
        self._notifications = notifications
        self.unread_only = QCheckBox("Unread only")
        self.unread_only.toggled.connect(self.refresh_soon)
        self.read_button = QPushButton("Mark read")
        self.read_button.clicked.connect(self.mark_selected_read)
        self.read_all_button = QPushButton("Mark all read")
        self.read_all_button.clicked.connect(self.mark_all_read)
        self.status = QLabel("")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        controls = button_row(self.read_button, self.read_all_button)
        controls.insertWidget(0, self.unread_only)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self.setWidget(body)
        self.link.on(NotificationRaised, self.refresh_soon)
        self.refresh()

    def load(self) -> list[Notification]:
        return self._notifications.list(limit=200, unread_only=self.unread_only.isChecked())

    def refresh(self) -> None:
        super().refresh()
        unread = self._notifications.unread_count()
        self.status.setText(f"{unread} unread" if unread else "All read")
        self.unread_changed.emit(unread)

    def mark_selected_read(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        ids = [self.model.row_record(index.row()).id for index in rows]
        if ids:
            self._notifications.mark_read(ids)
            self.refresh()

    def mark_all_read(self) -> None:
        self._notifications.mark_read()
        self.refresh()
