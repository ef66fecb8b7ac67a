"""The Jobs view: the station's background jobs, newest first, with their progress.

It reloads on the bus's ``JobChanged`` events (coalesced) and shows ``JobProgressed``
at once in the row it concerns, so a long job's bar moves without a database query per
step. Cancel goes through ``JobService.cancel`` like ``POST /jobs/{id}/cancel`` and
``task-station jobs cancel``.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QVBoxLayout, QWidget

from task_station.domain.jobs import JobChanged, JobProgressed
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock, TaskRunner, button_row
from task_station.gui.formatting import DASH, fmt_time
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.jobs import Job, JobService, JobState
from task_station.services.principal import Principal

_STATE_COLOUR = {
    JobState.RUNNING: COLORS["accent"],
    JobState.SUCCEEDED: COLORS["teal"],
    JobState.FAILED: COLORS["rust"],
}
#: The filter choices: (label, JobService.list state).
FILTERS = (("Active", "active"), ("All", None), ("Failed", "failed"))


def progress_text(job: Job) -> str:
    if job.state is JobState.QUEUED:
        return DASH
    text = f"{job.progress:.0%}"
    return f"{text} {job.progress_text}" if job.progress_text else text


COLUMNS: list[Column[Job]] = [
    Column("Created", lambda j: fmt_time(j.created_at)),
    Column("Job", lambda j: j.title),
    Column("Kind", lambda j: j.kind, lambda j: COLORS["text_dim"]),
    Column(
        "State", lambda j: j.state.value, lambda j: _STATE_COLOUR.get(j.state, COLORS["text_dim"])
    ),
    Column("Progress", progress_text, numeric=True),
    Column("Tries", lambda j: f"{j.attempts}/{j.max_attempts}", numeric=True),
    Column("Error", lambda j: j.error or "", lambda j: COLORS["rust"]),
]


class JobsDock(TableDock[Job]):
    """``error(message)`` when a command fails; ``message(text)`` for the status bar."""

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        jobs: JobService,
        bus: EventBus,
        actor: Principal,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Jobs", "jobsDock", bus, COLUMNS, key=lambda j: j.id, parent=parent)
        self._jobs = jobs
        self._actor = actor
        self._runner = TaskRunner(self.error.emit, after=self.refresh_soon)
        self.filter = QComboBox()
        for label, state in FILTERS:
            self.filter.addItem(label, state)
        self.filter.currentIndexChanged.connect(self.refresh_soon)
        self.cancel_button = QPushButton("Cancel job")
        self.cancel_button.setToolTip("Cancel a queued job, or stop a running one")
        self.cancel_button.setEnabled(actor.role.can_trade())
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        controls = button_row(self.cancel_button)
        controls.insertWidget(0, self.filter)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self.setWidget(body)
        self.error.connect(self.status.setText)
        self.message.connect(self.status.setText)
        self.link.on(JobChanged, self.refresh_soon)
        self.link.on(JobProgressed, self.show_progress)
        self.refresh()

    def load(self) -> list[Job]:
        return self._jobs.list(limit=200, state=self.filter.currentData())

    def show_progress(self, event: JobProgressed) -> None:
        """Move one row's progress now (the stored value lags by up to half a second)."""
        row = self.model.row_of(event.job_id)
        if row is None:
            self.refresh_soon()
            return
        job = self.model.row_record(row)
        fraction = min(1.0, event.done / event.total) if event.total > 0 else 0.0
        rows = [self.model.row_record(i) for i in range(self.model.rowCount())]
        rows[row] = replace(job, progress=fraction, progress_text=event.message)
        self.model.set_rows(rows)

    def selected_job(self) -> Job | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_record(rows[0].row()) if rows else None

    def select_job(self, job_id: str) -> bool:
        row = self.model.row_of(job_id)
        if row is None:
            return False
        self.view.selectRow(row)
        return True

    def cancel_selected(self) -> None:
        job = self.selected_job()
        if job is None:
            self.error.emit("select a job to cancel")
            return

        async def cancel() -> None:
            ended = await self._jobs.cancel(self._actor, job.id)
            self.message.emit(f"job {job.title}: {ended.state.value}")

        self._runner.launch(f"cancel job {job.title}", cancel)
