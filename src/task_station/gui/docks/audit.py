"""The audit trail: who did what, when, through which face, with before and after.

Reads through ``AuditService`` (admins only, as ``GET /audit``), filtered by user,
action (a prefix: ``bot.`` finds every bot action), face and a time range; follows the
trail while the dock is visible. A click shows the event's before/after state and its
hashes; *Verify chain* recomputes the whole hash chain and names the first bad event.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QModelIndex, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.audit import AuditEvent, AuditQuery
from task_station.domain.errors import TaskStationError
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock
from task_station.gui.live import Coalescer
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.audit import FACES, AuditService
from task_station.services.principal import Principal

POLL_MS = 3000
SHOWN = 500
ALL_FACES = "All faces"

COLUMNS: list[Column[AuditEvent]] = [
    Column("Time", lambda e: f"{e.ts:%Y-%m-%d %H:%M:%S}"),
    Column("Face", lambda e: e.face, lambda e: COLORS["text_dim"]),
    Column("User", lambda e: e.actor or ""),
    Column("Action", lambda e: e.action),
    Column("Subject", lambda e: e.subject),
    Column("Detail", lambda e: e.detail.splitlines()[0] if e.detail else ""),
]


def _utc(edit: QDateTimeEdit) -> datetime:
    return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC)


class AuditDock(TableDock[AuditEvent]):
    """The newest audit events matching the filters."""

    def __init__(
        self,
        audit: AuditService,
        bus: EventBus,
        principal: Principal,
        parent: QWidget | None = None,
        poll_ms: int = POLL_MS,
    ) -> None:
        super().__init__(
            "Audit", "auditDock", bus, COLUMNS, key=lambda e: e.id, parent=parent, stretch=5
        )
        self._audit = audit
        self._principal = principal
        self.user = QLineEdit()
        self.user.setPlaceholderText("User")
        self.action = QLineEdit()
        self.action.setPlaceholderText("Action (prefix: bot.)")
        self.face = QComboBox()
        self.face.addItems([ALL_FACES, *FACES])
        self.since_on, self.since = self._time_filter("From", hours_back=24)
        self.until_on, self.until = self._time_filter("To", hours_back=0)
        self.verify_button = QPushButton("Verify chain")
        self.status = QLabel()
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setMaximumHeight(130)
        self.setWidget(self._layout())
        self._typing = Coalescer(self.refresh, 250, self)  # one read per pause in typing
        for edit in (self.user, self.action):
            edit.textChanged.connect(self._typing.request)
        self.face.currentTextChanged.connect(self.refresh)
        for box in (self.since_on, self.until_on):
            box.toggled.connect(self.refresh)
        for when in (self.since, self.until):
            when.dateTimeChanged.connect(self._typing.request)
        self.verify_button.clicked.connect(self.verify)
        self.view.clicked.connect(self._show_detail)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.refresh()

    def _time_filter(self, label: str, hours_back: int) -> tuple[QCheckBox, QDateTimeEdit]:
        enabled = QCheckBox(label)
        # A UTC date-time makes the editor show and return UTC.
        edit = QDateTimeEdit(QDateTime.currentDateTimeUtc().addSecs(-3600 * hours_back))
        edit.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
        edit.setCalendarPopup(True)
        edit.setEnabled(False)
        enabled.toggled.connect(edit.setEnabled)
        return enabled, edit

    def _layout(self) -> QWidget:
        filters = QHBoxLayout()
        widgets: list[QWidget] = [self.user, self.action, self.face, self.since_on, self.since]
        widgets += [self.until_on, self.until, self.verify_button]
        for widget in widgets:
            filters.addWidget(widget)
        filters.addWidget(self.status, 1)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.detail)
        return body

    def query(self) -> AuditQuery:
        """The filters as the service takes them (raises on a bad time range)."""
        face = self.face.currentText()
        return self._audit.filters(
            user=self.user.text(),
            action=self.action.text(),
            face=None if face == ALL_FACES else face,
            since=_utc(self.since) if self.since_on.isChecked() else None,
            until=_utc(self.until) if self.until_on.isChecked() else None,
        )

    def load(self) -> list[AuditEvent]:
        try:
            events = self._audit.search(self._principal, self.query(), limit=SHOWN)
        except TaskStationError as exc:
            self.status.setText(str(exc))
            return []
        self.status.setText(
            f"{len(events)} event(s)" + (" (newest)" if len(events) == SHOWN else "")
        )
        return events

    def verify(self) -> None:
        """Recompute the hash chain; the status line says whether it holds."""
        try:
            report = self._audit.verify(self._principal)
        except TaskStationError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(report.describe())
        colour = COLORS["rust"] if not report.ok else COLORS["text"]
        self.status.setStyleSheet(f"color: {colour}")

    def _show_detail(self, index: QModelIndex) -> None:
        event = self.model.row_record(index.row())
        self.detail.setPlainText(
            f"{event.action} on {event.subject} by {event.actor or '?'} via {event.face}\n"
            f"before: {event.before or '-'}\nafter:  {event.after or '-'}\n"
            f"detail: {event.detail}\nhash:   {event.hash}\nprev:   {event.prev_hash}"
        )

    def _tick(self) -> None:
        if self.isVisible():
            self.refresh()
