"""The Market dock's stored data: the inventory of stored series, the selected one's
gaps, and replay controls for it (``MarketDataService`` as ``/market/data`` and
``/market/replays``). A replay is followed from the bus's ``ReplayChanged`` events; the
controls act on the replay this panel started.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError
from task_station.domain.market_data_events import (
    MarketDownloadChanged,
    MarketRecordingChanged,
    ReplayChanged,
    ReplayState,
)
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TaskRunner
from task_station.gui.docks.market_downloads import BAR_STEPS, set_utc, utc_edit, utc_of
from task_station.gui.docks.market_watch import record_table
from task_station.gui.formatting import DASH, fmt_time
from task_station.gui.live import BusLink, Coalescer
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column, RecordTableModel
from task_station.marketdata.store import Gap, StoredSeries
from task_station.services.market_data import MarketDataService
from task_station.services.principal import Principal

#: (label, speed factor; None: as fast as possible)
SPEEDS: tuple[tuple[str, float | None], ...] = (
    ("1x", 1.0),
    ("10x", 10.0),
    ("100x", 100.0),
    ("1000x", 1000.0),
    ("max", None),
)


def _gaps_text(s: StoredSeries) -> str:
    if s.timeframe is None:
        return DASH
    return f"{len(s.gaps)} ({s.missing_bars} bars)" if s.gaps else "0"


SERIES_COLUMNS: list[Column[StoredSeries]] = [
    Column("Kind", lambda s: s.kind, lambda s: COLORS["text_dim"]),
    Column("Venue", lambda s: s.venue),
    Column("Symbol", lambda s: s.symbol),
    Column("TF", lambda s: s.timeframe or DASH),
    Column("First (UTC)", lambda s: fmt_time(s.first)),
    Column("Last (UTC)", lambda s: fmt_time(s.last)),
    Column("Rows", lambda s: f"{s.rows:,}", numeric=True),
    Column("Gaps", _gaps_text, lambda s: COLORS["rust"] if s.gaps else None, numeric=True),
]
GAP_COLUMNS: list[Column[Gap]] = [
    Column("Gap from (UTC)", lambda g: fmt_time(g.start)),
    Column("To (UTC)", lambda g: fmt_time(g.end)),
    Column("Missing bars", lambda g: f"{g.missing:,}", numeric=True),
    Column("Why", lambda g: "no data at the venue" if g.confirmed else "not downloaded yet"),
]


class StoredDataPanel(QWidget):
    """The inventory, the selected series' gaps, and replay controls for it."""

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        service: MarketDataService,
        bus: EventBus,
        actor: Principal,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._actor = actor
        self._runner = TaskRunner(self.error.emit)
        self.replay_id: str | None = None
        self.series: RecordTableModel[StoredSeries] = RecordTableModel(
            SERIES_COLUMNS, lambda s: (s.kind, s.venue, s.symbol, s.timeframe), self
        )
        self.series_view = record_table(self, self.series, stretch=2)
        self.series_view.selectionModel().selectionChanged.connect(self._show_gaps)
        self.gaps: RecordTableModel[Gap] = RecordTableModel(GAP_COLUMNS, lambda g: g.start_ms, self)
        self.gaps_view = record_table(self, self.gaps, stretch=3)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.refresher = Coalescer(self.refresh, 300, self)
        split = QSplitter()
        split.addWidget(self.series_view)
        split.addWidget(self.gaps_view)
        split.setStretchFactor(0, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Stored series (select one for its gaps or to replay it)"), 1)
        top.addWidget(self.refresh_button)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addLayout(self._build_replay_controls())
        self.link = BusLink(self, bus)
        self.link.on(MarketDownloadChanged, self._on_download)
        self.link.on(MarketRecordingChanged, self.refresher.request)
        self.link.on(ReplayChanged, self._on_replay)
        self.refresh()

    def _build_replay_controls(self) -> QVBoxLayout:
        trader = self._actor.role.can_trade()
        self.speed = QComboBox()
        for label, factor in SPEEDS:
            self.speed.addItem(label, factor)
        self.speed.setCurrentIndex(len(SPEEDS) - 1)
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.replay_button = QPushButton("Replay")
        self.pause_button = QPushButton("Pause")
        self.step_button = QPushButton("Step bar")
        self.seek_edit = utc_edit(datetime(2024, 1, 1, tzinfo=UTC))
        self.seek_button = QPushButton("Seek")
        self.stop_button = QPushButton("Stop")
        actions = (
            (self.replay_button, self.start_replay), (self.pause_button, self.toggle_pause),
            (self.step_button, self.step), (self.seek_button, self.seek),
            (self.stop_button, self.stop_replay),
        )  # fmt: skip
        for button, action in actions:
            button.setEnabled(trader)
            button.clicked.connect(action)
        self.replay_state = QLabel("No replay")
        self.replay_bar = QProgressBar()
        self.replay_bar.setRange(0, BAR_STEPS)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Speed"))
        for widget in (self.speed, self.replay_button, self.pause_button, self.step_button,
                       self.seek_edit, self.seek_button, self.stop_button):  # fmt: skip
            buttons.addWidget(widget)
        buttons.addStretch(1)
        status = QHBoxLayout()
        status.addWidget(self.replay_state, 1)
        status.addWidget(self.replay_bar, 1)
        box = QVBoxLayout()
        box.addLayout(buttons)
        box.addLayout(status)
        return box

    # -- inventory ----------------------------------------------------------------------

    def refresh(self) -> None:
        try:
            self.series.set_rows(self._service.inventory())
        except TaskStationError as exc:
            self.error.emit(f"could not list the stored data: {exc}")
            return
        self._show_gaps()

    def selected_series(self) -> StoredSeries | None:
        rows = self.series_view.selectionModel().selectedRows()
        return self.series.row_record(rows[0].row()) if rows else None

    def select_series(self, kind: str, venue: str, symbol: str, timeframe: str | None) -> bool:
        row = self.series.row_of((kind, venue, symbol, timeframe))
        if row is None:
            return False
        self.series_view.selectRow(row)
        return True

    def _show_gaps(self, *_: object) -> None:
        series = self.selected_series()
        self.gaps.set_rows(list(series.gaps) if series is not None else [])
        if series is not None:
            set_utc(self.seek_edit, series.first)

    def _on_download(self, event: MarketDownloadChanged) -> None:
        if event.state.ended:
            self.refresher.request()

    # -- replay ---------------------------------------------------------------------------

    def start_replay(self) -> None:
        """Replay the selected series (candles, or recorded trades and books)."""
        series = self.selected_series()
        if series is None:
            self.error.emit("select a stored series to replay")
            return
        market = f"{series.venue}:{series.symbol}"
        self._act("start the replay", lambda: self._begin(market, series))

    def _begin(self, market: str, series: StoredSeries) -> None:
        handle = self._service.start_replay(
            self._actor, [market], timeframe=series.timeframe,
            trades=series.kind != "books", books=series.kind != "trades",
            speed=self.speed.currentData(),
        )  # fmt: skip
        self.replay_id = handle.id
        self.message.emit(f"replaying {market} {series.timeframe or series.kind}")

    def toggle_pause(self) -> None:
        replay_id = self._current()
        if replay_id is None:
            return
        if self._service.replay(replay_id).state is ReplayState.PAUSED:
            self._act(
                "resume the replay", lambda: self._service.resume_replay(self._actor, replay_id)
            )
        else:
            self._act(
                "pause the replay", lambda: self._service.pause_replay(self._actor, replay_id)
            )

    def step(self) -> None:
        replay_id = self._current()
        if replay_id is not None:
            self._act("step the replay",
                      lambda: self._service.step_replay(self._actor, replay_id, "bar"))  # fmt: skip

    def seek(self) -> None:
        replay_id = self._current()
        if replay_id is not None:
            when = utc_of(self.seek_edit)
            self._act("seek the replay",
                      lambda: self._service.seek_replay(self._actor, replay_id, when))  # fmt: skip

    def stop_replay(self) -> None:
        replay_id = self._current()
        if replay_id is None:
            return

        async def stop() -> None:
            await self._service.stop_replay(self._actor, replay_id)

        self._runner.launch("stop the replay", stop)

    def _speed_changed(self) -> None:
        replay_id = self.replay_id
        if replay_id is not None and not self._service.replay(replay_id).state.ended:
            speed = self.speed.currentData()
            actor = self._actor
            self._act(
                "change the replay speed",
                lambda: self._service.set_replay_speed(actor, replay_id, speed),
            )

    def _current(self) -> str | None:
        if self.replay_id is None:
            self.error.emit("start a replay first")
        return self.replay_id

    def _act(self, what: str, call: Callable[[], object]) -> None:
        try:
            call()
        except TaskStationError as exc:
            self.error.emit(f"could not {what}: {exc}")

    def _on_replay(self, event: ReplayChanged) -> None:
        if event.replay_id != self.replay_id:
            return
        speed = "max" if event.speed is None else f"{event.speed:g}x"
        self.replay_state.setText(
            f"{event.state.value} at {event.position:%Y-%m-%d %H:%M:%S} UTC, {speed}, "
            f"{event.published:,} events" + (f" ({event.error})" if event.error else "")
        )
        self.replay_bar.setValue(round(event.progress * BAR_STEPS))
        self.pause_button.setText("Resume" if event.state is ReplayState.PAUSED else "Pause")
