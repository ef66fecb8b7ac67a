"""The order ticket: a trader's own order for a manual (or mixed) bot.

The order goes through ``ProposalService.place_manual_order``, which sends it through
the bot's order manager: the bot's book, its pre-trade checks and its risk limits apply
as they would to the strategy's orders. The dialog validates nothing itself; the
service's message is shown inline, so the rules read the same here and in the API.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from task_station.domain.bots import BotDefinition
from task_station.domain.errors import TaskStationError
from task_station.domain.orders import Order
from task_station.services.principal import Principal
from task_station.services.proposals import ProposalService

log = logging.getLogger(__name__)


class OrderTicketDialog(QDialog):
    """``placed(order)`` once the service accepted the order (denied ones included:
    they exist, with their reason, in the orders table)."""

    placed = Signal(object)

    def __init__(
        self,
        proposals: ProposalService,
        actor: Principal,
        bot: BotDefinition,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Order ticket — {bot.name}")
        self.setMinimumWidth(340)
        self._proposals = proposals
        self._actor = actor
        self.bot = bot
        self.order: Order | None = None
        self.future: asyncio.Future[Order] | None = None
        self.side = QComboBox()
        self.side.addItems(["buy", "sell"])
        self.type = QComboBox()
        self.type.addItems(["market", "limit"])
        self.quantity = QLineEdit()
        self.quantity.setPlaceholderText(f"in {bot.symbol.split('/')[0]}")
        self.price = QLineEdit()
        self.price.setPlaceholderText(f"limit price in {bot.symbol.split('/')[-1]}")
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        form = QFormLayout(self)
        form.addRow("Symbol", QLabel(bot.symbol))
        form.addRow("Side", self.side)
        form.addRow("Type", self.type)
        form.addRow("Quantity", self.quantity)
        form.addRow("Price", self.price)
        form.addRow(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send order")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.type.currentTextChanged.connect(self._on_type)
        self._on_type(self.type.currentText())

    @property
    def error_text(self) -> str:
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _on_type(self, kind: str) -> None:
        self.price.setEnabled(kind == "limit")

    def submit(self) -> asyncio.Future[Order] | None:
        """Send the order; the dialog closes on success and stays open on a refusal."""
        if self.future is not None and not self.future.done():
            return self.future  # one order per click, even on a double click
        kind = self.type.currentText()
        price = self.price.text().strip() if kind == "limit" else ""
        self.buttons.setEnabled(False)
        self.future = asyncio.ensure_future(
            self._proposals.place_manual_order(
                self._actor,
                self.bot.id,
                self.side.currentText(),
                self.quantity.text().strip(),
                kind,
                price or None,
            )
        )
        self.future.add_done_callback(self._finished)
        return self.future

    def _finished(self, future: asyncio.Future[Order]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        try:
            self.buttons.setEnabled(True)
            if exc is None:
                self.order = future.result()
                self.placed.emit(self.order)
                self.accept()
            elif isinstance(exc, TaskStationError):
                self.show_error(str(exc))
            else:
                log.error("the order ticket failed", exc_info=exc)
                self.show_error(f"internal error: {type(exc).__name__}: {exc}")
        except RuntimeError:  # the dialog is gone; nobody to tell
            log.debug("an order ticket finished after its dialog closed")
