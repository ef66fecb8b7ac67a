"""The Market dock's download manager: start history downloads and follow each one's
progress bar, whichever face started it (``MarketDataService.start_download``, as
``POST /market/data/downloads`` does)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDateTime, QTimeZone, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.clock import Clock
from task_station.domain.errors import TaskStationError
from task_station.domain.market_data_events import (
    DownloadState,
    MarketDownloadChanged,
    MarketDownloadProgressed,
)
from task_station.domain.symbols import MarketSymbol
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TaskRunner
from task_station.gui.formatting import fmt_time
from task_station.gui.live import BusLink
from task_station.gui.palette import COLORS
from task_station.services.market_data import DownloadJob, MarketDataService
from task_station.services.principal import Principal

TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
BAR_STEPS = 1000  # the progress bars' resolution


def utc_edit(when: datetime) -> QDateTimeEdit:
    edit = QDateTimeEdit()
    edit.setTimeZone(QTimeZone.utc())
    edit.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
    edit.setCalendarPopup(True)
    set_utc(edit, when)
    return edit


def set_utc(edit: QDateTimeEdit, when: datetime) -> None:
    ms = int(when.timestamp() * 1000)
    edit.setDateTime(QDateTime.fromMSecsSinceEpoch(ms, QTimeZone.utc()))


def utc_of(edit: QDateTimeEdit) -> datetime:
    return datetime.fromtimestamp(edit.dateTime().toMSecsSinceEpoch() / 1000, tz=UTC)


class DownloadRow(QWidget):
    """One download: what, a progress bar, how it stands, and its cancel button."""

    def __init__(self, job: DownloadJob, cancel: Callable[[str], None]) -> None:
        super().__init__()
        self.job_id = job.id
        self.title = QLabel(f"{job.venue} {job.symbol} {job.timeframe} from {fmt_time(job.since)}")
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setValue(0)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: cancel(self.job_id))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.title)
        row.addWidget(self.bar, 1)
        row.addWidget(self.state)
        row.addWidget(self.cancel_button)
        self.show_state(job.state, job.bars_written, job.error)

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setValue(min(BAR_STEPS, round(done / total * BAR_STEPS)))
            self.bar.setFormat(f"{done}/{total} bars (%p%)")

    def show_state(self, state: DownloadState, written: int, error: str | None) -> None:
        if state is DownloadState.FINISHED:
            self.bar.setValue(BAR_STEPS)
        text = state.value if not state.ended else f"{state.value}: {written} bars written"
        self.state.setText(f"{text} ({error})" if error else text)
        colour = COLORS["rust"] if state is DownloadState.FAILED else COLORS["text_dim"]
        self.state.setStyleSheet(f"color: {colour}")
        self.cancel_button.setEnabled(not state.ended)


class DownloadsPanel(QWidget):
    """Start downloads and follow every download's progress bar."""

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        service: MarketDataService,
        bus: EventBus,
        actor: Principal,
        clock: Clock,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._actor = actor
        self._runner = TaskRunner(self.error.emit)
        self.rows: dict[str, DownloadRow] = {}
        self.market_edit = QLineEdit()
        self.market_edit.setPlaceholderText("venue:BASE/QUOTE, e.g. binance:BTC/USDT")
        self.timeframe = QComboBox()
        self.timeframe.addItems(TIMEFRAMES)
        self.since = utc_edit(clock.now() - timedelta(days=30))
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(actor.role.can_trade())
        self.download_button.clicked.connect(self.start_download)
        form = QHBoxLayout()
        form.addWidget(self.market_edit, 1)
        form.addWidget(self.timeframe)
        form.addWidget(QLabel("since"))
        form.addWidget(self.since)
        form.addWidget(self.download_button)
        self._list = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(self._list)
        layout.addStretch(1)
        self.link = BusLink(self, bus)
        self.link.on(MarketDownloadChanged, self._on_changed)
        self.link.on(MarketDownloadProgressed, self._on_progress)
        for job in reversed(service.downloads()):
            self._row(job)

    def start_download(self) -> DownloadJob | None:
        """Download the form's market, timeframe and range; its row shows how it goes."""
        started: list[str] = []

        def progress(done: int, total: int) -> None:
            if started and (row := self.rows.get(started[0])) is not None:
                row.set_progress(done, total)

        try:
            market = MarketSymbol.parse(self.market_edit.text())
            job = self._service.start_download(
                self._actor, market.venue, market.pair, self.timeframe.currentText(),
                utc_of(self.since), progress=progress,
            )  # fmt: skip
        except TaskStationError as exc:
            self.error.emit(f"could not start the download: {exc}")
            return None
        started.append(job.id)
        self._row(job)
        self.message.emit(f"downloading {market} {job.timeframe}")
        return job

    def cancel(self, download_id: str) -> None:
        async def cancel() -> None:
            job = await self._service.cancel_download(self._actor, download_id)
            self.message.emit(f"download {job.symbol} {job.timeframe}: {job.state.value}")

        self._runner.launch("cancel the download", cancel)

    def _row(self, job: DownloadJob) -> DownloadRow:
        row = self.rows.get(job.id)
        if row is None:
            row = self.rows[job.id] = DownloadRow(job, self.cancel)
            row.cancel_button.setEnabled(self._actor.role.can_trade() and not job.state.ended)
            self._list.insertWidget(0, row)
        return row

    def _on_changed(self, event: MarketDownloadChanged) -> None:
        row = self.rows.get(event.download_id)
        if row is None:  # started by another face
            try:
                row = self._row(self._service.download_job(event.download_id))
            except TaskStationError:
                return
        row.show_state(event.state, event.bars_written, event.error)
        if event.state is DownloadState.FAILED:
            self.error.emit(f"download {event.symbol} {event.timeframe} failed: {event.error}")

    def _on_progress(self, event: MarketDownloadProgressed) -> None:
        row = self.rows.get(event.download_id)
        if row is not None:
            row.set_progress(event.done, event.total)
