"""Exchange accounts: the table, Add…/Test/Remove, and the selected account's balances.

The dock only calls ``AccountService``; secrets typed in the Add dialog go straight to
the service and are never kept by a widget after the dialog closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QItemSelection, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.accounts import Account
from task_station.domain.balances import Balance
from task_station.domain.errors import TaskStationError
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock, TaskRunner, button_row
from task_station.gui.table_model import Column, RecordTableModel
from task_station.services.accounts import AccountService
from task_station.services.principal import Principal

log = logging.getLogger(__name__)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


COLUMNS: list[Column[Account]] = [
    Column("Name", lambda a: a.name),
    Column("Exchange", lambda a: a.exchange_id),
    Column("Sandbox", lambda a: "yes" if a.sandbox else "no"),
    Column("Added", lambda a: a.created_at.strftime("%Y-%m-%d %H:%M")),
]
BALANCE_COLUMNS: list[Column[Balance]] = [
    Column("Asset", lambda b: b.asset),
    Column("Total", lambda b: _plain(b.total), numeric=True),
    Column("Locked", lambda b: _plain(b.locked), numeric=True),
    Column("Free", lambda b: _plain(b.free), numeric=True),
]


class AddAccountDialog(QDialog):
    """Name, exchange, key, secret (hidden), optional password, sandbox."""

    def __init__(
        self, accounts: AccountService, actor: Principal, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add exchange account")
        self._accounts = accounts
        self._actor = actor
        self.added: Account | None = None
        self.exchange = QComboBox()
        self.exchange.addItems(accounts.exchange_ids())
        self.exchange.setEditable(True)
        self.name = QLineEdit()
        self.api_key = QLineEdit()
        self.api_secret = QLineEdit()
        self.api_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("only for exchanges that use one")
        self.sandbox = QCheckBox("Sandbox / testnet")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        form = QFormLayout(self)
        for label, widget in (
            ("Exchange", self.exchange),
            ("Name", self.name),
            ("API key", self.api_key),
            ("API secret", self.api_secret),
            ("Password", self.password),
        ):
            form.addRow(label, widget)
        form.addRow("", self.sandbox)
        form.addRow(self.error_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def submit(self) -> None:
        """Add the account; on a refusal show why and stay open."""
        try:
            self.added = self._accounts.add(
                self._actor,
                self.name.text(),
                self.exchange.currentText(),
                self.api_key.text(),
                self.api_secret.text(),
                self.password.text() or None,
                self.sandbox.isChecked(),
            )
        except TaskStationError as exc:
            self.error_label.setText(str(exc))
            return
        for field in (self.api_key, self.api_secret, self.password):
            field.clear()
        self.accept()


class AccountsDock(TableDock[Account]):
    """``error(message)`` when a command fails; ``message(text)`` for the status bar."""

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        accounts: AccountService,
        bus: EventBus,
        actor: Principal,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Accounts", "accountsDock", bus, COLUMNS, key=lambda a: a.id, parent=parent, stretch=0
        )
        self._accounts = accounts
        self._actor = actor
        self._runner = TaskRunner(self.error.emit)
        self.confirm: Callable[[str], bool] = self._ask
        self.balances = RecordTableModel(BALANCE_COLUMNS, lambda b: b.asset, self)
        self.balance_view = QTableView(self)
        self.balance_view.setModel(self.balances)
        self.balance_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.balance_view.verticalHeader().setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.add_button = QPushButton("Add…")
        self.add_button.setProperty("accent", True)
        self.test_button = QPushButton("Test")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(self.open_add_dialog)
        self.test_button.clicked.connect(self.test_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = button_row(self.add_button, self.test_button, self.remove_button)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 2)
        layout.addWidget(self.status)
        layout.addWidget(self.balance_view, 1)
        self.setWidget(body)
        self.error.connect(self.status.setText)
        self.message.connect(self.status.setText)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.refresh()

    def load(self) -> list[Account]:
        return self._accounts.list()

    def refresh(self) -> None:
        super().refresh()
        self._update_buttons()

    def selected_account(self) -> Account | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_record(rows[0].row()) if rows else None

    def select_account(self, account_id: str) -> bool:
        row = self.model.row_of(account_id)
        if row is None:
            return False
        self.view.selectRow(row)
        return True

    def _update_buttons(self) -> None:
        can_trade = self._actor.role.can_trade()
        selected = self.selected_account() is not None
        self.add_button.setEnabled(can_trade)
        self.test_button.setEnabled(can_trade and selected)
        self.remove_button.setEnabled(can_trade and selected)

    def _on_selection(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._update_buttons()
        self.balances.set_rows([])
        account = self.selected_account()
        if account is not None and self._actor.role.can_trade():
            self.load_balances(account.id)

    # -- commands ----------------------------------------------------------------------

    def open_add_dialog(self) -> AddAccountDialog:
        dialog = AddAccountDialog(self._accounts, self._actor, self)
        dialog.finished.connect(lambda _=0: self._added(dialog))
        dialog.open()
        return dialog

    def _added(self, dialog: AddAccountDialog) -> None:
        if dialog.added is not None:
            self.refresh()
            self.select_account(dialog.added.id)
            self.message.emit(f"account {dialog.added.name!r} added")
        dialog.deleteLater()

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.question(self, "Remove account", text)
        return answer == QMessageBox.StandardButton.Yes

    def remove_selected(self) -> None:
        account = self.selected_account()
        if account is None or not self.confirm(
            f"Remove {account.name!r} and delete its API key from the vault?"
        ):
            return
        try:
            self._accounts.remove(self._actor, account.id)
        except TaskStationError as exc:
            self.error.emit(f"could not remove the account: {exc}")
            return
        self.balances.set_rows([])
        self.refresh()
        self.message.emit(f"account {account.name!r} removed")

    def test_selected(self) -> asyncio.Future[Any] | None:
        account = self.selected_account()
        if account is None:
            return None
        self.status.setText(f"testing {account.name}…")

        async def call() -> None:
            result = await self._accounts.test_connection(self._actor, account.id)
            self.message.emit(f"{account.name}: connected, {result.assets} assets")

        return self._runner.launch(f"test {account.name}", call)

    def load_balances(self, account_id: str) -> asyncio.Future[Any]:
        async def call() -> None:
            rows = await self._accounts.balances(self._actor, account_id)
            current = self.selected_account()
            if current is not None and current.id == account_id:
                self.balances.set_rows(rows)

        return self._runner.launch("load balances", call)

    @property
    def pending(self) -> int:
        """Test and balance requests still running."""
        return self._runner.pending
