"""Pending proposals of mixed-mode bots, with Approve / Edit / Reject, and the controls
that set who decides a bot's orders (its mode) and open the order ticket.

The table reloads on proposal events and once a second besides: the drift and the time
left change with the market and the clock, not only when something is decided.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.bots import BotDefinition
from task_station.domain.errors import TaskStationError
from task_station.domain.events import (
    BotControlChanged,
    BotStatusChanged,
    ProposalCreated,
    ProposalDecided,
)
from task_station.domain.orders import Order, OrderSide
from task_station.domain.proposals import ControlMode, Proposal
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock, TaskRunner, button_row
from task_station.gui.formatting import DASH, fmt_money, fmt_qty
from task_station.gui.order_ticket import OrderTicketDialog
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.bots import BotService
from task_station.services.principal import Principal
from task_station.services.proposals import ProposalService, ProposalView

log = logging.getLogger(__name__)

#: How often the drift and time-left columns are recomputed (milliseconds).
TICK_MS = 1000


def _size(view: ProposalView) -> str:
    order = view.proposal.order
    if order.quantity is not None:
        return fmt_qty(order.quantity)
    return f"{fmt_money(order.quote_quantity)} {order.symbol.split('/')[-1]}"


def _price(view: ProposalView) -> str:
    order = view.proposal.order
    if order.price is not None:
        return fmt_money(order.price)
    return f"mkt ~{fmt_money(view.proposal.reference_price)}"


def _drift(view: ProposalView) -> str:
    return DASH if view.drift_bps is None else f"{fmt_money(view.drift_bps, 1)} bps"


#: Drift (bps) from which the column turns red: the default guard refuses beyond it.
DRIFT_WARN_BPS = Decimal(100)


def _drift_colour(view: ProposalView) -> str | None:
    if view.drift_bps is None:
        return None
    return COLORS["rust"] if view.drift_bps >= DRIFT_WARN_BPS else COLORS["text_dim"]


def _expires(view: ProposalView) -> str:
    left = view.expires_in_seconds
    if left is None:
        return DASH
    return f"{left // 60}:{left % 60:02d}"


COLUMNS: list[Column[ProposalView]] = [
    Column("Bot", lambda v: v.bot_name, lambda v: COLORS["accent"]),
    Column(
        "Side",
        lambda v: v.proposal.order.side.value,
        lambda v: COLORS["teal"] if v.proposal.order.side is OrderSide.BUY else COLORS["rust"],
    ),
    Column("Qty", _size, numeric=True),
    Column("Price", _price, numeric=True),
    Column("Drift now", _drift, _drift_colour, numeric=True),
    Column("Expires in", _expires, numeric=True),
]


class EditProposalDialog(QDialog):
    """The trader's quantity and/or limit price for one proposal."""

    def __init__(self, proposal: Proposal, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit proposal")
        order = proposal.order
        self.quantity = QLineEdit("" if order.quantity is None else str(order.quantity))
        self.quantity.setPlaceholderText(
            f"base quantity (proposed: {order.quote_quantity} quote)"
            if order.quantity is None
            else "base quantity"
        )
        self.price = QLineEdit("" if order.price is None else str(order.price))
        self.price.setEnabled(order.type.has_limit_price)
        form = QFormLayout(self)
        form.addRow("Quantity", self.quantity)
        form.addRow("Price", self.price)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send edited")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str | None, str | None]:
        quantity = self.quantity.text().strip() or None
        price = self.price.text().strip() if self.price.isEnabled() else ""
        return quantity, price or None


class ProposalsDock(TableDock[ProposalView]):
    """``error(message)`` when a command fails; ``message(text)`` for the status bar."""

    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        proposals: ProposalService,
        bots: BotService,
        bus: EventBus,
        actor: Principal,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "Proposals",
            "proposalsDock",
            bus,
            COLUMNS,
            key=lambda v: v.proposal.id,
            parent=parent,
            stretch=0,
        )
        self._proposals = proposals
        self._bots = bots
        self._actor = actor
        self._runner = TaskRunner(self.error.emit, after=self.refresh_soon)
        self.approve_button = QPushButton("Approve")
        self.approve_button.setProperty("accent", True)
        self.edit_button = QPushButton("Edit…")
        self.reject_button = QPushButton("Reject")
        self.approve_button.clicked.connect(self.approve_selected)
        self.edit_button.clicked.connect(self.open_edit_dialog)
        self.reject_button.clicked.connect(self.reject_selected)
        self.bot_combo = QComboBox()
        self.bot_combo.setMinimumContentsLength(12)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems([m.value for m in ControlMode])
        self.mode_button = QPushButton("Set mode")
        self.ticket_button = QPushButton("Order…")
        self.mode_button.clicked.connect(self.apply_mode)
        self.ticket_button.clicked.connect(self.open_order_ticket)
        self.bot_combo.currentIndexChanged.connect(self._on_bot_choice)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(button_row(self.approve_button, self.edit_button, self.reject_button))
        layout.addWidget(self.view, 1)
        controls = QHBoxLayout()
        for widget in (self.bot_combo, self.mode_combo, self.mode_button, self.ticket_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        self.setWidget(body)
        self.error.connect(self.status.setText)
        self.message.connect(self.status.setText)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        for event_type in (ProposalCreated, ProposalDecided):
            self.link.on(event_type, self.refresh_soon)
        self.link.on(BotStatusChanged, self._on_bots_changed)
        self.link.on(BotControlChanged, self._on_bots_changed)
        self.ticker = QTimer(self)
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self.refresh_soon)
        self.ticker.start()
        self.refresh_bots()
        self.refresh()

    # -- data --------------------------------------------------------------------------

    def load(self) -> list[ProposalView]:
        return self._proposals.pending()

    def refresh(self) -> None:
        selected = self.selected_id()
        super().refresh()
        if selected is not None and self.selected_id() != selected:
            self.select_proposal(selected)
        self._update_buttons()

    def refresh_bots(self) -> None:
        """Reload the bot chooser, keeping the chosen bot."""
        chosen = self.chosen_bot_id()
        self.bot_combo.blockSignals(True)
        self.bot_combo.clear()
        for bot in self._bots.list():
            self.bot_combo.addItem(bot.name, bot.id)
        index = self.bot_combo.findData(chosen) if chosen is not None else 0
        self.bot_combo.setCurrentIndex(max(index, 0) if self.bot_combo.count() else -1)
        self.bot_combo.blockSignals(False)
        self._on_bot_choice()

    def _on_bots_changed(self, _event: object) -> None:
        self.refresh_bots()
        self.refresh_soon()

    # -- selection ---------------------------------------------------------------------

    def selected_view(self) -> ProposalView | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_record(rows[0].row()) if rows else None

    def selected_id(self) -> str | None:
        view = self.selected_view()
        return None if view is None else view.proposal.id

    def select_proposal(self, proposal_id: str) -> bool:
        row = self.model.row_of(proposal_id)
        if row is None:
            return False
        self.view.selectRow(row)
        return True

    def chosen_bot_id(self) -> str | None:
        data = self.bot_combo.currentData()
        return str(data) if data is not None else None

    def choose_bot(self, bot_id: str) -> bool:
        index = self.bot_combo.findData(bot_id)
        if index < 0:
            return False
        self.bot_combo.setCurrentIndex(index)
        return True

    def _on_selection(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._update_buttons()
        view = self.selected_view()
        if view is not None:
            self.choose_bot(view.proposal.bot_id)

    def _on_bot_choice(self, *_: object) -> None:
        bot_id = self.chosen_bot_id()
        if bot_id is not None:
            try:
                mode = self._proposals.control(bot_id).mode
            except TaskStationError:
                mode = None
            if mode is not None:
                self.mode_combo.setCurrentText(mode.value)
        self._update_buttons()

    def _update_buttons(self) -> None:
        can_trade = self._actor.role.can_trade()
        selected = self.selected_view() is not None
        for button in (self.approve_button, self.edit_button, self.reject_button):
            button.setEnabled(can_trade and selected)
        chosen = self.chosen_bot_id() is not None
        self.mode_button.setEnabled(can_trade and chosen)
        self.ticket_button.setEnabled(can_trade and chosen)

    # -- decisions ---------------------------------------------------------------------

    def approve_selected(self) -> asyncio.Future[Any] | None:
        view = self.selected_view()
        if view is None:
            return None
        proposal = view.proposal

        async def call() -> None:
            decided = await self._proposals.approve(self._actor, proposal.bot_id, proposal.id)
            self.message.emit(_outcome(decided))

        return self._runner.launch("approve the proposal", call)

    def edit_selected(
        self, quantity: str | Decimal | None, price: str | Decimal | None
    ) -> asyncio.Future[Any] | None:
        view = self.selected_view()
        if view is None:
            return None
        proposal = view.proposal

        async def call() -> None:
            decided = await self._proposals.edit(
                self._actor, proposal.bot_id, proposal.id, quantity=quantity, price=price
            )
            self.message.emit(_outcome(decided))

        return self._runner.launch("edit the proposal", call)

    def open_edit_dialog(self) -> EditProposalDialog | None:
        view = self.selected_view()
        if view is None:
            return None
        dialog = EditProposalDialog(view.proposal, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        proposal_id = view.proposal.id

        def accepted() -> None:
            if self.selected_id() == proposal_id:
                self.edit_selected(*dialog.values())

        dialog.accepted.connect(accepted)
        dialog.open()
        return dialog

    def reject_selected(self) -> None:
        view = self.selected_view()
        if view is None:
            return
        proposal = view.proposal
        try:
            decided = self._proposals.reject(self._actor, proposal.bot_id, proposal.id)
        except TaskStationError as exc:
            self.error.emit(f"could not reject the proposal: {exc}")
            return
        self.message.emit(_outcome(decided))
        self.refresh()

    # -- mode and ticket ---------------------------------------------------------------

    def apply_mode(self) -> None:
        bot_id = self.chosen_bot_id()
        if bot_id is None:
            return
        mode = self.mode_combo.currentText()
        try:
            control = self._proposals.set_mode(self._actor, bot_id, mode)
        except TaskStationError as exc:
            self.error.emit(f"could not change the mode: {exc}")
            return
        self.message.emit(f"{self.bot_combo.currentText()} is now {control.mode.value}")

    def open_order_ticket(self) -> OrderTicketDialog | None:
        bot = self._chosen_bot()
        if bot is None:
            return None
        dialog = OrderTicketDialog(self._proposals, self._actor, bot, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.placed.connect(self._on_placed)
        dialog.open()
        return dialog

    def _chosen_bot(self) -> BotDefinition | None:
        bot_id = self.chosen_bot_id()
        if bot_id is None:
            return None
        try:
            return self._bots.get(bot_id)
        except TaskStationError as exc:
            self.error.emit(str(exc))
            return None

    def _on_placed(self, order: object) -> None:
        if isinstance(order, Order):
            self.message.emit(
                f"order {order.side.value} {order.symbol}: {order.status.value}"
                + (f" ({order.reason})" if order.reason else "")
            )

    # -- async plumbing ----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Decisions still being sent."""
        return self._runner.pending


def _outcome(proposal: Proposal) -> str:
    text = f"proposal {proposal.status.value}: {proposal.describe()}"
    return text + (f" — {proposal.reason}" if proposal.reason else "")
