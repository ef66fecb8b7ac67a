"""The Tasks dock: the station's tasks, their run history and each run's log.

Buttons create, edit, enable or disable, run now and delete (traders; viewers read).
The editor takes a task's triggers and actions as JSON lists (``{"kind", "config"}``),
with a template for each kind one click away; the service checks them and the dock
shows what it refused. A webhook's secret is made in the dialog, shown there once to
copy into TradingView, and sent to the service, which keeps it in the vault.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import datetime
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError, ValidationError
from task_station.domain.tasks import (
    ActionKind,
    RunStatus,
    Task,
    TaskChanged,
    TaskRun,
    TaskRunChanged,
    TriggerKind,
)
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock, TaskRunner, button_row
from task_station.gui.formatting import DASH
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column, RecordTableModel
from task_station.services.principal import Principal
from task_station.services.tasks import TaskService

TRIGGER_TEMPLATES: dict[str, dict[str, Any]] = {
    TriggerKind.CRON: {"expression": "0 9 * * 1-5", "timezone": "UTC"},
    TriggerKind.INTERVAL: {"seconds": 3600},
    TriggerKind.WEBHOOK: {"max_age_seconds": 300, "dedup_seconds": 600},
    TriggerKind.PRICE_CROSS: {"symbol": "BTC/USDT", "level": "65000", "direction": "up"},
    TriggerKind.PRICE_MOVE: {"symbol": "BTC/USDT", "percent": "5", "window_seconds": 3600},
    TriggerKind.INDICATOR: {
        "symbol": "BTC/USDT",
        "indicator": "rsi",
        "period": 14,
        "condition": "crosses_below",
        "value": "30",
    },
    TriggerKind.BOT_EVENT: {"event": "error"},
    TriggerKind.BOT_PNL: {"drawdown_pct": "10"},
    TriggerKind.TASK_RESULT: {"task_id": "", "on": "failure"},
}
ACTION_TEMPLATES: dict[str, dict[str, Any]] = {
    ActionKind.START_BOT: {"bot_id": ""},
    ActionKind.STOP_BOT: {"bot_id": ""},
    ActionKind.PAUSE_BOT: {"bot_id": "", "reason": ""},
    ActionKind.RESUME_BOT: {"bot_id": ""},
    ActionKind.PLACE_ORDER: {"bot_id": "", "side": "buy", "quantity": "0.01"},
    ActionKind.CANCEL_ORDERS: {"bot_id": ""},
    ActionKind.CLOSE_POSITIONS: {"bot_id": ""},
    ActionKind.RUN_BACKTEST: {"strategy": "sma_cross", "data": "", "cash": "10000"},
    ActionKind.NOTIFY: {"title": "{{task}}", "body": ""},
    ActionKind.CALL_WEBHOOK: {"url": "https://", "body": {"text": "{{task}}"}},
}
_STATUS_COLOURS = {
    RunStatus.SUCCEEDED: "teal",
    RunStatus.FAILED: "rust",
    RunStatus.SKIPPED: "text_dim",
}


def _when(ts: datetime | None) -> str:
    return DASH if ts is None else ts.strftime("%Y-%m-%d %H:%M:%S")


def _took(run: TaskRun) -> str:
    return DASH if run.duration is None else f"{run.duration.total_seconds():.2f} s"


def _run_colour(run: TaskRun) -> str | None:
    name = _STATUS_COLOURS.get(run.status)
    return None if name is None else COLORS[name]


TASK_COLUMNS: list[Column[Task]] = [
    Column("Name", lambda t: t.name, lambda t: COLORS["accent"]),
    Column(
        "On",
        lambda t: "yes" if t.enabled else "no",
        lambda t: COLORS["teal"] if t.enabled else COLORS["text_dim"],
    ),
    Column("Triggers", lambda t: "; ".join(x.describe() for x in t.triggers)),
    Column("Actions", lambda t: ", ".join(a.kind.value for a in t.actions)),
    Column("Missed runs", lambda t: t.missed_runs.value),
]
RUN_COLUMNS: list[Column[TaskRun]] = [
    Column("Run", lambda r: str(r.id), numeric=True),
    Column("Started", lambda r: _when(r.started_at)),
    Column("Status", lambda r: r.status.value, _run_colour),
    Column("Cause", lambda r: r.cause),
    Column("Took", _took, numeric=True),
    Column("Summary", lambda r: r.summary or ""),
]


def _specs(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, indent=2, default=str)


class TaskEditorDialog(QDialog):
    """A task's fields; ``values()`` gives what ``TaskService.create``/``update`` take."""

    def __init__(self, task: Task | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit task" if task else "New task")
        self.task = task
        self.name = QLineEdit(task.name if task else "")
        self.description = QLineEdit((task.description or "") if task else "")
        self.missed = QComboBox()
        self.missed.addItems(["skip", "run_once", "run_all"])
        self.missed.setCurrentText(task.missed_runs.value if task else "skip")
        self.grace = QSpinBox()
        self.grace.setRange(0, 30 * 86400)
        self.grace.setSpecialValueText("however late")
        self.grace.setValue((task.grace_seconds or 0) if task else 0)
        triggers = [{"id": t.id, "kind": t.kind.value, "config": t.config, "enabled": t.enabled}
                    for t in task.triggers] if task else []  # fmt: skip
        actions = [{"kind": a.kind.value, "config": a.config} for a in task.actions] if task else []
        self.triggers_edit = QPlainTextEdit(_specs(triggers))
        self.actions_edit = QPlainTextEdit(_specs(actions))
        self.trigger_kind = QComboBox()
        self.trigger_kind.addItems([k.value for k in TriggerKind])
        self.action_kind = QComboBox()
        self.action_kind.addItems([k.value for k in ActionKind])
        add_trigger, add_action = QPushButton("Add trigger"), QPushButton("Add action")
        add_trigger.clicked.connect(lambda: self.add_trigger(self.trigger_kind.currentText()))
        add_action.clicked.connect(lambda: self.add_action(self.action_kind.currentText()))
        self.secret_label = QLabel("")
        self.secret_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.secret_label.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("Missed runs", self.missed)
        form.addRow("Grace (s)", self.grace)
        form.addRow(_row(self.trigger_kind, add_trigger))
        form.addRow("Triggers", self.triggers_edit)
        form.addRow(self.secret_label)
        form.addRow(_row(self.action_kind, add_action))
        form.addRow("Actions", self.actions_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def add_trigger(self, kind: str) -> None:
        config = dict(TRIGGER_TEMPLATES[kind])
        if kind == TriggerKind.WEBHOOK:
            config["secret"] = secret = secrets.token_urlsafe(24)
            self.secret_label.setText(
                f'Webhook secret (copy it into the alert as "secret"; it is not shown again): {secret}'
            )
        self._append(self.triggers_edit, {"kind": kind, "config": config})

    def add_action(self, kind: str) -> None:
        self._append(self.actions_edit, {"kind": kind, "config": dict(ACTION_TEMPLATES[kind])})

    def values(self) -> dict[str, Any]:
        """What the service takes (``ValidationError`` when a list is not JSON)."""
        return {
            "name": self.name.text(),
            "description": self.description.text(),
            "missed_runs": self.missed.currentText(),
            "grace_seconds": self.grace.value() or None,
            "triggers": _parse(self.triggers_edit, "triggers"),
            "actions": _parse(self.actions_edit, "actions"),
        }

    @staticmethod
    def _append(editor: QPlainTextEdit, item: dict[str, Any]) -> None:
        try:
            items = _parse(editor, "list")
        except ValidationError:
            items = []
        editor.setPlainText(_specs([*items, item]))


def _row(*widgets: QWidget) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    return holder


def _parse(editor: QPlainTextEdit, what: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(editor.toPlainText() or "[]")
    except ValueError as exc:
        raise ValidationError(f"the {what} are not valid JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValidationError(f"the {what} must be a JSON list of {{kind, config}} objects")
    return items


class TasksDock(TableDock[Task]):
    """``error(message)`` when a command fails; ``message(text)`` for the status bar."""

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self, tasks: TaskService, bus: EventBus, actor: Principal, parent: QWidget | None = None
    ) -> None:
        super().__init__("Tasks", "tasksDock", bus, TASK_COLUMNS, key=lambda t: t.id,
                         parent=parent, stretch=2)  # fmt: skip
        self._tasks = tasks
        self._actor = actor
        self._runner = TaskRunner(self.error.emit, after=self.refresh_soon)
        self.new_button, self.edit_button = QPushButton("New…"), QPushButton("Edit…")
        self.toggle_button, self.run_button = QPushButton("Disable"), QPushButton("Run now")
        self.delete_button = QPushButton("Delete")
        self.run_button.setProperty("accent", True)
        self.new_button.clicked.connect(lambda: self.open_editor(None))
        self.edit_button.clicked.connect(lambda: self.open_editor(self.selected_task()))
        self.toggle_button.clicked.connect(self.toggle_selected)
        self.run_button.clicked.connect(self.run_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.runs_model: RecordTableModel[TaskRun] = RecordTableModel(
            RUN_COLUMNS, lambda r: r.id, self
        )
        self.runs_view = QTableView(self)
        self.runs_view.setModel(self.runs_model)
        self.runs_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_view.verticalHeader().setVisible(False)
        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(button_row(self.new_button, self.edit_button, self.toggle_button,
                                    self.run_button, self.delete_button))  # fmt: skip
        split = QSplitter(Qt.Orientation.Vertical, body)
        for widget in (self.view, self.runs_view, self.log_view):
            widget.setMinimumHeight(48)  # the dock shares its tab group: stay small
            split.addWidget(widget)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.setWidget(body)
        self.error.connect(self.status.setText)
        self.message.connect(self.status.setText)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.runs_view.selectionModel().selectionChanged.connect(self._show_log)
        self.link.on(TaskChanged, self.refresh_soon)
        self.link.on(TaskRunChanged, self.refresh_soon)
        self.refresh()

    # -- data --------------------------------------------------------------------------

    def load(self) -> list[Task]:
        return self._tasks.list()

    def refresh(self) -> None:
        selected = self.selected_task()
        super().refresh()
        if selected is not None and self.model.row_of(selected.id) is not None:
            self.select_task(selected.id)
        self._refresh_runs()
        self._update_buttons()

    def _refresh_runs(self) -> None:
        task = self.selected_task()
        chosen = self.selected_run()
        self.runs_model.set_rows([] if task is None else self._tasks.runs(task.id, limit=100))
        row = None if chosen is None else self.runs_model.row_of(chosen.id)
        if row is not None:
            self.runs_view.selectRow(row)
        self._show_log()

    # -- selection ---------------------------------------------------------------------

    def selected_task(self) -> Task | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_record(rows[0].row()) if rows else None

    def select_task(self, task_id: str) -> bool:
        row = self.model.row_of(task_id)
        if row is not None:
            self.view.selectRow(row)
        return row is not None

    def selected_run(self) -> TaskRun | None:
        rows = self.runs_view.selectionModel().selectedRows()
        return self.runs_model.row_record(rows[0].row()) if rows else None

    def select_run(self, run_id: int) -> bool:
        row = self.runs_model.row_of(run_id)
        if row is not None:
            self.runs_view.selectRow(row)
        return row is not None

    def _on_selection(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._refresh_runs()
        self._update_buttons()

    def _show_log(self, *_: object) -> None:
        run = self.selected_run()
        if run is None:
            self.log_view.setPlainText("")
            return
        lines = list(run.logs) or [run.summary or ""]
        if run.error:
            lines.append(f"error: {run.error}")
        self.log_view.setPlainText("\n".join(lines))

    def _update_buttons(self) -> None:
        can_trade = self._actor.role.can_trade()
        task = self.selected_task()
        self.new_button.setEnabled(can_trade)
        for button in (self.edit_button, self.toggle_button, self.run_button, self.delete_button):
            button.setEnabled(can_trade and task is not None)
        self.toggle_button.setText("Enable" if task is not None and not task.enabled else "Disable")

    # -- commands ----------------------------------------------------------------------

    def open_editor(self, task: Task | None) -> TaskEditorDialog:
        dialog = TaskEditorDialog(task, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.save(dialog.values, task))
        dialog.open()
        return dialog

    def save(self, values: Any, task: Task | None) -> Task | None:
        """Create (``task`` None) or update from ``values()``; errors go to the status."""
        try:
            fields = values()
            if task is None:
                saved = self._tasks.create(self._actor, **fields)
            else:
                saved = self._tasks.update(self._actor, task.id, **fields)
        except TaskStationError as exc:
            self.error.emit(f"could not save the task: {exc}")
            return None
        self.refresh()
        self.select_task(saved.id)
        self.message.emit(f"task {saved.name!r} saved")
        return saved

    def toggle_selected(self) -> None:
        task = self.selected_task()
        if task is None:
            return
        try:
            changed = self._tasks.set_enabled(self._actor, task.id, not task.enabled)
        except TaskStationError as exc:
            self.error.emit(str(exc))
            return
        self.refresh()
        self.message.emit(f"task {changed.name!r} {'enabled' if changed.enabled else 'disabled'}")

    def run_selected(self) -> asyncio.Future[Any] | None:
        task = self.selected_task()
        if task is None:
            return None

        async def call() -> None:
            run = await self._tasks.run_now(self._actor, task.id)
            self.message.emit(f"run {run.id} of {task.name!r}: {run.status.value}")

        return self._runner.launch("run the task", call)

    def delete_selected(self) -> None:
        task = self.selected_task()
        if task is None:
            return
        try:
            self._tasks.delete(self._actor, task.id)
        except TaskStationError as exc:
            self.error.emit(str(exc))
            return
        self.refresh()
        self.message.emit(f"task {task.name!r} deleted")

    @property
    def pending(self) -> int:
        return self._runner.pending
