"""The station's health at a glance: each component's readiness, and the key counters.

The same ``HealthService`` answers ``/health/ready``; the counters are the Prometheus
metrics ``/metrics`` serves. The running station checks its components every few
seconds by itself (``HealthService.last``): the dock shows the latest result while it
is visible, and runs a check of its own only when the trader clicks Refresh.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from task_station.gui.docks.base import TaskRunner, button_row
from task_station.gui.palette import COLORS
from task_station.services.health import HealthService, Readiness, Status
from task_station.services.metrics import StationMetrics

REFRESH_MS = 2000
_STATUS_COLOURS = {
    Status.OK: COLORS["teal"],
    Status.DEGRADED: COLORS["accent"],
    Status.DOWN: COLORS["rust"],
    Status.NOT_CONFIGURED: COLORS["text_dim"],
}
#: (label, metric): each shown summed over its label sets.
_COUNTERS: list[tuple[str, str]] = [
    ("Orders sent", "task_station_orders_submitted_total"),
    ("Filled", "task_station_orders_filled_total"),
    ("Rejected", "task_station_orders_rejected_total"),
    ("Denied", "task_station_orders_denied_total"),
    ("Fills", "task_station_fills_total"),
    ("Errors", "task_station_errors_total"),
    ("Bots running", "task_station_bots_running"),
]


class HealthDock(QDockWidget):
    """Readiness per component (colour-coded) over a line of counters."""

    error = Signal(str)

    def __init__(
        self,
        health: HealthService,
        metrics: StationMetrics,
        parent: QWidget | None = None,
        refresh_ms: int = REFRESH_MS,
    ) -> None:
        super().__init__("Health", parent)
        self.setObjectName("healthDock")
        self._health = health
        self._metrics = metrics
        self.readiness: Readiness | None = None
        self.summary = QLabel("not checked yet: Refresh checks now")
        self.counters = QLabel()
        self.counters.setWordWrap(True)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Component", "Status", "Detail"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.counters)
        layout.addLayout(button_row(self.refresh_button))
        self.setWidget(body)
        self._runner = TaskRunner(self.error.emit)
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.update_view()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.update_view()

    def update_view(self) -> None:
        """Show the station's latest check and the counters as they are now."""
        self.show_counters()
        last = self._health.last
        if last is not None and last is not self.readiness:
            self.display(last)

    def refresh(self) -> None:
        """Check every component now (asynchronously) and update the counters."""
        self.show_counters()
        if self._runner.pending:
            return

        async def check() -> None:
            self.display(await self._health.ready())

        self._runner.launch("check the station's health", check)

    def display(self, readiness: Readiness) -> None:
        """Show each component of ``readiness``, its status in its colour."""
        self.readiness = readiness
        self.summary.setText(
            f"Station {readiness.status} — checked {readiness.checked_at:%H:%M:%S} UTC"
        )
        self.summary.setStyleSheet(f"color: {_summary_colour(readiness)}; font-weight: bold")
        self.table.setRowCount(len(readiness.components))
        for row, component in enumerate(readiness.components):
            colour = QBrush(QColor(_STATUS_COLOURS[component.status]))
            cells = (component.name.replace("_", " "), component.status.value, component.detail)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setForeground(colour)
                self.table.setItem(row, column, item)

    def show_counters(self) -> None:
        parts = [f"{label}: {self._total(metric):,.0f}" for label, metric in _COUNTERS]
        lag = self._metrics.event_loop_lag
        parts.append(f"Loop lag: {'-' if lag is None else f'{lag * 1000:.1f} ms'}")
        self.counters.setText("  ·  ".join(parts))

    def status_of(self, component: str) -> str:
        """The status text shown for ``component`` (used by tests)."""
        for row in range(self.table.rowCount()):
            name = self.table.item(row, 0)
            status = self.table.item(row, 1)
            if name is not None and status is not None and name.text() == component:
                return status.text()
        raise KeyError(component)

    def _total(self, metric: str) -> float:
        name = metric.removesuffix("_total")
        for family in self._metrics.registry.collect():
            if family.name == name:
                return sum(s.value for s in family.samples if s.name == metric)
        return 0.0

    def _tick(self) -> None:
        if self.isVisible():
            self.update_view()


def _summary_colour(readiness: Readiness) -> str:
    statuses = {c.status for c in readiness.components}
    if Status.DOWN in statuses:
        return COLORS["rust"]
    return COLORS["accent"] if Status.DEGRADED in statuses else COLORS["teal"]
