"""The Backtests dock: a form that submits runs to worker processes, and the runs table.

Every figure comes from ``BacktestService``: the form hands its text to ``submit`` (the
one judge of strategy, parameters, candle file, cash and fee) and shows its refusal
verbatim; the table lists the stored runs, newest first. A run's progress comes from the
bus (``BacktestProgress``: the row's bar is repainted, nothing is reloaded), its end
(``BacktestFinished``) reloads the table once per burst. Reports open in the system
browser or are copied where the trader says; two or more runs open side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSettings,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QDesktopServices, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError
from task_station.domain.events import BacktestFinished, BacktestProgress
from task_station.engine.bus import EventBus
from task_station.gui.backtest_compare import (
    BacktestCompareDialog,
    fmt_pct,
    fmt_ratio,
    short_params,
)
from task_station.gui.docks.base import CELL_GAP, TaskRunner, button_row
from task_station.gui.formatting import DASH, fmt_money, fmt_time, sign_of
from task_station.gui.live import BusLink, Coalescer
from task_station.gui.palette import COLORS
from task_station.gui.param_form import DecimalSpinBox, ParamForm
from task_station.gui.table_model import Column, RecordTableModel
from task_station.services.backtests import (
    BacktestRun,
    BacktestService,
    RunStatus,
    symbol_from_filename,
)
from task_station.services.principal import Principal
from task_station.services.strategies import StrategyService
from task_station.strategies.base import Strategy

LISTED = 200  # runs the table shows
PARAMS_SHOWN = 26  # characters of the parameters in the table (all in the tooltip)
REFRESH_MS = 150
STRATEGY_SYNC_MS = 3000  # how often the strategy list is compared with the catalog
CANDLE_FILTER = "Candle files (*.parquet *.csv *.txt);;All files (*)"
_KEYS = {"data": "backtests/data", "cash": "backtests/cash", "fee": "backtests/fee"}
_STATUS_COLOUR = {
    RunStatus.QUEUED: COLORS["text_dim"],
    RunStatus.RUNNING: COLORS["teal"],
    RunStatus.FINISHED: COLORS["accent"],
    RunStatus.FAILED: COLORS["rust"],
    RunStatus.CANCELLED: COLORS["text_dim"],
}


# -- the table ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunRow:
    """A stored run and, while it runs, the bars done as the bus last said."""

    run: BacktestRun
    live: tuple[int, int] | None = None

    @property
    def fraction(self) -> float:
        if self.live is not None and self.live[1] > 0:
            return min(1.0, self.live[0] / self.live[1])
        return 1.0 if self.run.status is RunStatus.FINISHED else self.run.progress

    @property
    def active(self) -> bool:
        return not self.run.status.ended

    def metric(self, name: str) -> object:
        return (self.run.metrics or {}).get(name)

    @property
    def total_return(self) -> object:
        value = self.metric("total_return")
        if value is None and self.run.final_equity is not None and self.run.cash > 0:
            value = self.run.final_equity / self.run.cash - 1
        return value


def _started(row: RunRow) -> str:
    when = row.run.started_at or row.run.created_at
    return when.astimezone(UTC).strftime("%m-%d %H:%M:%S")


def _progress(row: RunRow) -> str:
    return f"{row.fraction:.0%}".replace("%", " %")


def _return_colour(row: RunRow) -> str | None:
    value = row.total_return
    number = None if value is None else Decimal(str(value))
    return {1: COLORS["teal"], -1: COLORS["rust"]}.get(sign_of(number))


def _trades(row: RunRow) -> str:
    return DASH if row.run.trade_count is None else str(row.run.trade_count)


# the results first: a dock sharing the bottom area shows its left columns unscrolled
COLUMNS: list[Column[RunRow]] = [
    Column("Strategy", lambda r: r.run.strategy, lambda r: COLORS["accent"]),
    Column("Params", lambda r: short_params(r.run.params, PARAMS_SHOWN) or "defaults"),
    Column("Status", lambda r: r.run.status.value, lambda r: _STATUS_COLOUR[r.run.status]),
    Column("Progress", _progress, numeric=True),
    Column("Final equity", lambda r: fmt_money(r.run.final_equity), numeric=True),
    Column("Return", lambda r: fmt_pct(r.total_return), _return_colour, numeric=True),
    Column("Sharpe", lambda r: fmt_ratio(r.metric("sharpe")), numeric=True),
    Column("Max DD", lambda r: fmt_pct(r.metric("max_drawdown")), numeric=True),
    Column("Trades", _trades, numeric=True),
    Column("Symbol", lambda r: f"{r.run.symbol} {r.run.timeframe}"),
    Column("Started", _started, lambda r: COLORS["text_dim"]),
]
PROGRESS_COLUMN = [c.title for c in COLUMNS].index("Progress")


def _tooltip(row: RunRow) -> str:
    run = row.run
    lines = [
        f"run {run.id} ({run.status.value}), started {fmt_time(run.started_at or run.created_at)} UTC",
        f"{run.strategy}: {short_params(run.params, 400) or 'default parameters'}",
        f"{run.data_source}: {run.bars:,} bars of {run.timeframe}",
        f"cash {fmt_money(run.cash)}, fee {run.fee_bps} bps"
        + (f", by {run.created_by}" if run.created_by else ""),
    ]
    if run.error:
        lines.append(f"why it failed: {run.error}")
    if run.status is RunStatus.FINISHED:
        lines.append("double-click or Enter: open the report")
    return "\n".join(lines)


class RunsModel(RecordTableModel[RunRow]):
    """The runs, with a tooltip per row telling its inputs (and why it failed)."""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid():
            return _tooltip(self.row_record(index.row()))
        return super().data(index, role)

    def set_live(self, row: int, done: int, total: int) -> None:
        """Show a running run's bars done without reloading anything."""
        self._rows[row] = RunRow(self._rows[row].run, (done, total))
        index = self.index(row, PROGRESS_COLUMN)
        self.dataChanged.emit(index, index)


class _GapDelegate(QStyledItemDelegate):
    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(hint.width() + CELL_GAP, hint.height())


class ProgressDelegate(QStyledItemDelegate):
    """Paints a progress bar in the cells of runs still queued or running."""

    def __init__(self, row_of: Callable[[int], RunRow], parent: QWidget) -> None:
        super().__init__(parent)
        self._row_of = row_of

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(110, super().sizeHint(option, index).height())

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        row = self._row_of(index.row())
        if not row.active:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        self._paint_bar(painter, QRectF(option.rect).adjusted(4, 5, -4, -5), row)

    @staticmethod
    def _paint_bar(painter: QPainter, rect: QRectF, row: RunRow) -> None:
        text = _progress(row) if row.run.status is RunStatus.RUNNING else "queued"
        filled = QRectF(rect)
        filled.setWidth(rect.width() * row.fraction)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(COLORS["border"])))
        painter.setBrush(QColor(COLORS["surface"]))
        painter.drawRoundedRect(rect, 3, 3)
        if filled.width() > 0:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(COLORS["accent_dim"]))
            painter.drawRoundedRect(filled, 3, 3)
        # the text in dark over the bar and light over the rest, so both halves read
        centre = Qt.AlignmentFlag.AlignCenter
        painter.setClipRect(filled)
        painter.setPen(QColor(COLORS["bg"]))
        painter.drawText(rect, centre, text)
        rest = QRectF(rect)
        rest.setLeft(filled.right())
        painter.setClipRect(rest)
        painter.setPen(QColor(COLORS["text"]))
        painter.drawText(rect, centre, text)
        painter.restore()


def _buddy(text: str, widget: QWidget) -> QLabel:
    """A form label whose ``&`` key (Alt+key) moves the focus to ``widget``."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


# -- the dock ----------------------------------------------------------------------------


class BacktestsDock(QDockWidget):
    """``error(message)`` when a command fails, ``message(text)`` for the status bar.

    ``open_url`` opens a report (the system browser); tests may replace it.
    """

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        backtests: BacktestService,
        strategies: StrategyService,
        bus: EventBus,
        actor: Principal,
        parent: QWidget | None = None,
        *,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__("Backtests", parent)
        self.setObjectName("backtestsDock")  # QMainWindow.saveState finds docks by name
        self._backtests = backtests
        self._strategies = strategies
        self._actor = actor
        self._settings = settings
        self._live: dict[str, tuple[int, int]] = {}
        self._strategy_key: tuple[tuple[str, type[Strategy]], ...] = ()
        self._form_class: type[Strategy] | None = None
        self._form_for = ""  # the strategy whose parameters the form shows
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self._runner = TaskRunner(self._show_error, after=self.refresh_soon)
        self._submitting = False
        self.param_form = ParamForm(())
        self._build_form()
        self._build_table()
        self._build_layout()
        self.link = BusLink(self, bus)
        self.link.on(BacktestProgress, self._on_progress)
        self.link.on(BacktestFinished, self._on_finished)
        self.refresher = Coalescer(self.refresh, REFRESH_MS, self)
        self.strategy_sync = QTimer(self)
        self.strategy_sync.setInterval(STRATEGY_SYNC_MS)
        self.strategy_sync.timeout.connect(self.sync_strategies)
        self.strategy_sync.start()
        self.sync_strategies()
        self._restore_inputs()
        self.refresh()

    # -- building ----------------------------------------------------------------------

    def _build_form(self) -> None:
        self.strategy_combo = QComboBox()
        self.strategy_combo.setObjectName("backtestStrategy")
        self.strategy_combo.setToolTip(
            "The strategy to replay: the station's built-ins and your own strategy files"
        )
        self.strategy_combo.currentTextChanged.connect(self._on_strategy)
        self.params_box = QVBoxLayout()
        self.params_box.setContentsMargins(0, 0, 0, 0)
        self.params_box.addWidget(self.param_form)
        self.data_edit = QLineEdit()
        self.data_edit.setObjectName("backtestData")
        self.data_edit.setPlaceholderText(
            "a .parquet or .csv candle file, e.g. BTC_USDT-1h.parquet"
        )
        self.data_edit.setToolTip(
            "The candle file to replay (CSV or Parquet with time, open, high, low, close, "
            "volume); the timeframe is read from it"
        )
        self.data_edit.setClearButtonEnabled(True)
        self.data_edit.textChanged.connect(self._on_data_text)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setObjectName("backtestBrowse")
        self.browse_button.setToolTip("Choose the candle file")
        self.browse_button.clicked.connect(self.browse_data)
        self.symbol_edit = QLineEdit()
        self.symbol_edit.setObjectName("backtestSymbol")
        self.symbol_edit.setToolTip(
            "The instrument the candles are of, BASE/QUOTE; leave empty to read it from "
            "the file name (BTC_USDT-1h.parquet is BTC/USDT)"
        )
        self.cash_edit = DecimalSpinBox(Decimal(0), None, Decimal(1000))
        self.cash_edit.setObjectName("backtestCash")
        self.cash_edit.setToolTip("Starting cash, in the quote currency (must be positive)")
        self.cash_edit.set_value_text("10000")
        self.fee_edit = DecimalSpinBox(Decimal(0), Decimal(9999), Decimal(1))
        self.fee_edit.setObjectName("backtestFee")
        self.fee_edit.setToolTip(
            "Fee per fill in basis points of its value (10 bps = 0.10 %), maker and taker"
        )
        self.fee_edit.set_value_text("10")
        self.run_button = QPushButton("Run backtest")
        self.run_button.setObjectName("backtestRun")
        self.run_button.setProperty("accent", True)
        self.run_button.setToolTip("Replay the strategy in a worker process (Ctrl+Return)")
        self.run_button.clicked.connect(self.submit)
        self.status_label = QLabel()
        self.status_label.setObjectName("backtestStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def _build_table(self) -> None:
        self.model = RunsModel(COLUMNS, key=lambda r: r.run.id, parent=self)
        self.view = QTableView(self)
        self.view.setObjectName("backtestRuns")
        self.view.setModel(self.model)
        self.view.setItemDelegate(_GapDelegate(self.view))
        self.view.setItemDelegateForColumn(
            PROGRESS_COLUMN, ProgressDelegate(self.model.row_record, self.view)
        )
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setShowGrid(False)
        self.view.setToolTip("")
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(26)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.view.activated.connect(lambda _index: self.open_report())
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("backtestCancel")
        self.cancel_button.setToolTip("Stop the selected queued or running runs")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.report_button = QPushButton("Report")
        self.report_button.setObjectName("backtestOpenReport")
        self.report_button.setToolTip("Open the selected run's HTML report in your browser")
        self.report_button.clicked.connect(self.open_report)
        self.save_button = QPushButton("Save…")
        self.save_button.setObjectName("backtestSaveReport")
        self.save_button.setToolTip(
            "Copy the selected run's report (HTML, with its JSON and trades CSV) to a folder"
        )
        self.save_button.clicked.connect(self.save_report_as)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("backtestCompare")
        self.compare_button.setToolTip(
            "Show two or more selected runs side by side (Ctrl+click to select several)"
        )
        self.compare_button.clicked.connect(self.compare_selected)

    def _build_layout(self) -> None:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._form_column())
        splitter.addWidget(self._runs_column())
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 900])
        body = QWidget(self)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(splitter)
        self.setWidget(body)

    def _form_column(self) -> QWidget:
        """The inputs (scrolling when the dock is short) over a Run button that stays."""
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_edit, 1)
        data_row.addWidget(self.browse_button)
        money_row = QHBoxLayout()
        money_row.addWidget(self.cash_edit, 3)
        money_row.addWidget(_buddy("F&ee", self.fee_edit))
        money_row.addWidget(self.fee_edit, 2)
        money_row.addWidget(QLabel("bps"))
        form = QFormLayout()
        form.addRow("&Strategy", self.strategy_combo)
        form.addRow("Parameters", self.params_box)
        form.addRow(_buddy("&Candles", self.data_edit), data_row)
        form.addRow("S&ymbol", self.symbol_edit)
        form.addRow(_buddy("Cas&h", self.cash_edit), money_row)
        form.setContentsMargins(0, 0, 4, 0)
        inputs = QWidget()
        inputs.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inputs)
        column = QWidget()
        column.setObjectName("backtestForm")
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.run_button)
        layout.addWidget(self.status_label)
        # explicit minimums: the dock shares the bottom area and must not widen the window
        column.setMinimumWidth(200)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), column)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.submit)
        return column

    def _runs_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(6, 0, 0, 0)
        buttons = (self.cancel_button, self.report_button, self.save_button, self.compare_button)
        layout.addLayout(button_row(*buttons))
        layout.addWidget(self.view, 1)
        column.setMinimumWidth(200)
        return column

    # -- strategies --------------------------------------------------------------------

    def strategy_names(self) -> list[str]:
        return [self.strategy_combo.itemText(i) for i in range(self.strategy_combo.count())]

    def sync_strategies(self) -> None:
        """Offer the catalog's strategies (reloaded files included), keeping the choice
        and, for the same strategy class, the parameters typed."""
        infos = self._strategies.list()
        key = tuple((i.name, i.cls) for i in infos)
        if key == self._strategy_key:
            return
        self._strategy_key = key
        current = self.strategy_combo.currentText() or "sma_cross"
        self.strategy_combo.blockSignals(True)
        self.strategy_combo.clear()
        for info in infos:
            self.strategy_combo.addItem(info.name)
            self.strategy_combo.setItemData(
                self.strategy_combo.count() - 1,
                f"{info.origin_text}: {info.description}",
                Qt.ItemDataRole.ToolTipRole,
            )
        if current in self.strategy_names():
            self.strategy_combo.setCurrentText(current)
        self.strategy_combo.blockSignals(False)
        self._on_strategy(self.strategy_combo.currentText())

    def choose_strategy(self, name: str) -> bool:
        """Pick ``name`` in the combo (its parameter form shows); False if not offered."""
        self.sync_strategies()
        if name not in self.strategy_names():
            return False
        self.strategy_combo.setCurrentText(name)
        return True

    def _on_strategy(self, name: str) -> None:
        if not name:
            return
        try:
            info = self._strategies.get(name)
        except TaskStationError as exc:
            self._show_error(str(exc))
            return
        self.strategy_combo.setToolTip(
            f"{info.description} ({info.origin_text}). The strategy to replay: the "
            "station's built-ins and your own strategy files."
        )
        if info.cls is self._form_class:
            return
        # a reloaded file of the same strategy keeps what was typed; another starts afresh
        kept = self.param_form.values() if name == self._form_for else {}
        self._form_class, self._form_for = info.cls, name
        form = ParamForm(info.params, self)
        form.setToolTip("" if info.params else "this strategy has no parameters")
        self.params_box.replaceWidget(self.param_form, form)
        self.param_form.deleteLater()
        self.param_form = form
        same = {k: v for k, v in kept.items() if k in form.editors}
        if same:
            try:
                form.set_values(same)
            except TaskStationError:
                form.reset()

    # -- inputs ------------------------------------------------------------------------

    def _on_data_text(self, text: str) -> None:
        path = Path(text.strip()) if text.strip() else None
        guess = symbol_from_filename(path) if path is not None else None
        self.symbol_edit.setPlaceholderText(
            f"{guess} (from the file name)" if guess else "read from the file name"
        )

    def browse_data(self) -> QFileDialog:
        """Open a (non-modal) file chooser for the candle file."""
        current = self.data_edit.text().strip()
        folder = str(Path(current).parent) if current else ""
        dialog = QFileDialog(self, "Choose a candle file", folder, CANDLE_FILTER)
        dialog.setObjectName("backtestDataDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.data_edit.setText)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per click
        dialog.open()
        return dialog

    def _restore_inputs(self) -> None:
        if self._settings is None:
            return
        data = self._settings.value(_KEYS["data"])
        if isinstance(data, str) and Path(data).is_file():
            self.data_edit.setText(data)
        for key, editor in (("cash", self.cash_edit), ("fee", self.fee_edit)):
            value = self._settings.value(_KEYS[key])
            if isinstance(value, str) and value:
                editor.set_value_text(value)

    def _remember_inputs(self) -> None:
        if self._settings is None:
            return
        self._settings.setValue(_KEYS["data"], self.data_edit.text().strip())
        self._settings.setValue(_KEYS["cash"], self.cash_edit.value_text())
        self._settings.setValue(_KEYS["fee"], self.fee_edit.value_text())

    # -- submit ------------------------------------------------------------------------

    def submit(self) -> asyncio.Future[Any] | None:
        """Hand the form to ``BacktestService.submit`` (on the event loop); its refusal
        shows under the button. Returns the call's future (None when nothing was sent)."""
        if self._submitting:
            return None
        data = self.data_edit.text().strip()
        if not data:
            self._show_error("choose a candle file first (Browse…)")
            return None
        strategy = self.strategy_combo.currentText()
        params = self.param_form.values()
        symbol = self.symbol_edit.text().strip() or None
        cash, fee = self.cash_edit.value_text(), self.fee_edit.value_text()

        async def call() -> None:
            run = await self._backtests.submit(
                self._actor, strategy=strategy, params=params, data=Path(data).expanduser(),
                cash=cash, fee_bps=fee, symbol=symbol,
            )  # fmt: skip
            self._remember_inputs()
            self._show_message(
                f"{run.strategy} on {run.symbol} ({run.bars:,} bars of {run.timeframe}) "
                f"is {run.status.value}"
            )
            self.refresh()
            self.select_run(run.id)

        self._set_submitting(True)
        self._show_message("checking the inputs…")
        future = self._runner.launch("start the backtest", call)
        future.add_done_callback(lambda _f: self._set_submitting(False))
        return future

    def _set_submitting(self, on: bool) -> None:
        self._submitting = on
        with contextlib.suppress(RuntimeError):  # the dock may be gone
            self.run_button.setEnabled(not on and self._actor.role.can_trade())

    # -- the runs ----------------------------------------------------------------------

    def refresh_soon(self, *_: object) -> None:
        self.refresher.request()

    def refresh(self) -> None:
        """Reload the stored runs now, keeping the selection."""
        selected = self.selected_ids()
        try:
            runs = self._backtests.list(LISTED)
        except TaskStationError as exc:
            self._show_error(f"could not list the backtest runs: {exc}")
            runs = []
        running = {r.id for r in runs if r.status is RunStatus.RUNNING}
        self._live = {k: v for k, v in self._live.items() if k in running}
        self.model.set_rows([RunRow(r, self._live.get(r.id)) for r in runs])
        if selected and self.selected_ids() != selected:
            self.select_runs(selected)
        self._update_buttons()

    def cell_text(self, row: int, title: str) -> str:
        """The text of a cell by column title (what a trader reads; used by tests)."""
        return self.model.text(row, self.model.column_of(title))

    def run_row(self, run_id: str) -> int | None:
        return self.model.row_of(run_id)

    def _on_progress(self, event: BacktestProgress) -> None:
        row = self.model.row_of(event.run_id)
        self._live[event.run_id] = (event.done, event.total)
        if row is None or self.model.row_record(row).run.status is not RunStatus.RUNNING:
            self.refresh_soon()  # a new run, or one that just started: its status changed
            return
        self.model.set_live(row, event.done, event.total)

    def _on_finished(self, event: BacktestFinished) -> None:
        self._live.pop(event.run_id, None)
        self.refresh_soon()
        if event.status == RunStatus.FAILED.value:
            self.message.emit(f"backtest run failed: {event.error}")

    # -- selection ---------------------------------------------------------------------

    def selected_runs(self) -> list[BacktestRun]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [self.model.row_record(r).run for r in rows]

    def selected_ids(self) -> list[str]:
        return [r.id for r in self.selected_runs()]

    def select_run(self, run_id: str) -> bool:
        return self.select_runs([run_id])

    def select_runs(self, run_ids: list[str]) -> bool:
        """Select exactly the rows of ``run_ids``; False if any is not listed."""
        rows = [self.model.row_of(i) for i in run_ids]
        selection = self.view.selectionModel()
        selection.clearSelection()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        for row in rows:
            if row is not None:
                selection.select(self.model.index(row, 0), flags)
        if rows and rows[0] is not None:
            self.view.scrollTo(self.model.index(rows[0], 0))
        return all(r is not None for r in rows)

    def _on_selection(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        can_trade = self._actor.role.can_trade()
        runs = self.selected_runs()
        one_finished = len(runs) == 1 and runs[0].status is RunStatus.FINISHED
        self.run_button.setEnabled(can_trade and not self._submitting)
        self.cancel_button.setEnabled(can_trade and any(not r.status.ended for r in runs))
        self.report_button.setEnabled(one_finished)
        self.save_button.setEnabled(one_finished)
        self.compare_button.setEnabled(len(runs) >= 2)

    # -- actions -----------------------------------------------------------------------

    def cancel_selected(self) -> asyncio.Future[Any] | None:
        """Cancel the selected runs that are still queued or running (one call each)."""
        ids = [r.id for r in self.selected_runs() if not r.status.ended]
        if not ids:
            return None

        async def call() -> None:
            for run_id in ids:
                run = await self._backtests.cancel(self._actor, run_id)
                self._show_message(f"run of {run.strategy} on {run.symbol} is {run.status.value}")

        self._show_message(f"cancelling {len(ids)} run(s)…")
        return self._runner.launch("cancel the backtest", call)

    def _single_selected(self) -> BacktestRun | None:
        runs = self.selected_runs()
        if len(runs) != 1:
            return None
        return runs[0]

    def open_report(self) -> Path | None:
        """Open the selected run's HTML report in the system browser."""
        run = self._single_selected()
        if run is None:
            return None
        try:
            path = self._backtests.report_file(run.id, "html")
        except TaskStationError as exc:
            self._show_error(str(exc))
            return None
        if not self.open_url(QUrl.fromLocalFile(str(path))):
            self._show_error(f"no browser opened the report; it is at {path}")
            return path
        self._show_message(f"opened the report of {run.strategy} on {run.symbol}")
        return path

    def save_report_as(self) -> QFileDialog | None:
        """Ask (non-modal) where to copy the selected run's report, then copy it."""
        run = self._single_selected()
        if run is None:
            return None
        suggested = f"{run.strategy}-{run.symbol.replace('/', '_')}-{run.id[:8]}.html"
        start = Path(self.data_edit.text().strip() or ".").expanduser()
        folder = start.parent if start.suffix else start
        dialog = QFileDialog(self, "Save the backtest report", str(folder / suggested))
        dialog.setObjectName("backtestSaveDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("HTML report (*.html)")
        dialog.setDefaultSuffix("html")
        dialog.fileSelected.connect(lambda name: self.save_report(run.id, Path(name)))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per click
        dialog.open()
        return dialog

    def save_report(self, run_id: str, path: Path) -> list[Path]:
        """Copy the report of ``run_id`` to ``path`` (with its JSON and CSV beside it)."""
        try:
            written = self._backtests.write_report(run_id, path)
        except (TaskStationError, OSError) as exc:
            self._show_error(f"could not save the report: {exc}")
            return []
        self._show_message(f"saved {', '.join(p.name for p in written)} in {path.parent}")
        return written

    def compare_selected(self) -> BacktestCompareDialog | None:
        """Open the comparison of the selected runs (two or more), oldest first."""
        ids = self.selected_ids()
        if len(ids) < 2:
            self._show_error("select two or more runs to compare (Ctrl+click)")
            return None
        try:
            comparison = self._backtests.compare(list(reversed(ids)))
        except TaskStationError as exc:
            self._show_error(f"could not compare the runs: {exc}")
            return None
        dialog = BacktestCompareDialog(comparison, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per click
        dialog.show()
        return dialog

    # -- plumbing ----------------------------------------------------------------------

    def _show_error(self, text: str) -> None:
        self.status_label.setStyleSheet(f"color: {COLORS['rust']}; font-weight: 600;")
        self.status_label.setText(text)
        self.error.emit(text)

    def _show_message(self, text: str) -> None:
        self.status_label.setStyleSheet(f"color: {COLORS['text_dim']};")
        self.status_label.setText(text)
        self.message.emit(text)

    @property
    def status_text(self) -> str:
        return self.status_label.text()

    @property
    def pending(self) -> int:
        """Service calls still running."""
        return self._runner.pending
