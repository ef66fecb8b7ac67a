"""The bots table: what runs, how it does, and the buttons to create/start/stop/resume."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from task_station.domain.bots import BotDefinition, BotStatus
from task_station.domain.events import BotStatusChanged, PortfolioChanged
from task_station.engine.bus import EventBus
from task_station.gui.art import bot_state_icon
from task_station.gui.bot_actions import BotActions, is_paused
from task_station.gui.docks.base import TableDock, button_row
from task_station.gui.formatting import fmt_money, fmt_signed, sign_of
from task_station.gui.new_bot_dialog import NewBotDialog
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.bots import BotService
from task_station.services.principal import Principal
from task_station.services.strategies import StrategyService
from task_station.services.trading import PortfolioService

_STARTABLE = (BotStatus.CREATED, BotStatus.STOPPED, BotStatus.ERROR)
_STOPPABLE = ("running", "paused")  # status values: a paused bot still runs its stops
_STATUS_COLOUR = {
    BotStatus.RUNNING: COLORS["teal"],
    BotStatus.ERROR: COLORS["rust"],
    BotStatus.FINISHED: COLORS["accent"],
}


@dataclass(frozen=True, slots=True)
class BotRow:
    bot: BotDefinition
    equity: Decimal

    @property
    def pnl(self) -> Decimal:
        return self.equity - self.bot.quote_budget


def _status_text(row: BotRow) -> str:
    return "paused" if is_paused(row.bot) else row.bot.status.value


def _status_colour(row: BotRow) -> str:
    if is_paused(row.bot):
        return COLORS["accent"]
    return _STATUS_COLOUR.get(row.bot.status, COLORS["text_dim"])


def _pnl_colour(row: BotRow) -> str | None:
    return {1: COLORS["teal"], -1: COLORS["rust"]}.get(sign_of(row.pnl))


COLUMNS: list[Column[BotRow]] = [
    Column("Name", lambda r: r.bot.name, lambda r: COLORS["accent"]),
    Column("Strategy", lambda r: r.bot.strategy),
    Column("Symbol", lambda r: r.bot.symbol),
    Column(
        "Status",
        _status_text,
        _status_colour,
        icon=lambda r: bot_state_icon(r.bot.status, is_paused(r.bot)),
    ),
    Column("Equity", lambda r: fmt_money(r.equity), numeric=True),
    Column("P&L", lambda r: fmt_signed(r.pnl), _pnl_colour, numeric=True),
]


class BotsDock(TableDock[BotRow]):
    """``bot_selected(bot_id)`` when the trader picks a row; ``error(message)`` when a
    command fails; ``message(text)`` for the status bar."""

    bot_selected = Signal(str)
    error = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        bots: BotService,
        portfolio: PortfolioService,
        bus: EventBus,
        actor: Principal,
        parent: QWidget | None = None,
        *,
        strategies: StrategyService | None = None,
    ) -> None:
        super().__init__(
            "Bots", "botsDock", bus, COLUMNS, key=lambda r: r.bot.id, parent=parent, stretch=0
        )
        self._bots = bots
        self._portfolio = portfolio
        self._actor = actor
        self._strategies = strategies  # the station's catalog, for the new-bot dialog
        self.bot_actions = BotActions(bots, actor, self)
        self.bot_actions.failed.connect(self.error)
        self.bot_actions.done.connect(self.message)
        self.new_button = QPushButton("New…")
        self.new_button.setProperty("accent", True)
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Let a bot a risk limit paused trade again")
        self.new_button.clicked.connect(self.open_new_bot_dialog)
        self.start_button.clicked.connect(self._start_selected)
        self.stop_button.clicked.connect(self._stop_selected)
        self.resume_button.clicked.connect(self._resume_selected)
        buttons = button_row(
            self.new_button, self.start_button, self.stop_button, self.resume_button
        )
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.view)
        self.setWidget(body)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.link.on(BotStatusChanged, self.refresh_soon)
        self.link.on(PortfolioChanged, self.refresh_soon)
        self.refresh()

    # -- data ------------------------------------------------------------------------

    def load(self) -> list[BotRow]:
        books = {b.bot_id: b.equity for b in self._portfolio.books()}
        return [BotRow(bot, books.get(bot.id, bot.quote_budget)) for bot in self._bots.list()]

    def refresh(self) -> None:
        selected = self.selected_bot_id()
        super().refresh()
        if selected is not None and self.selected_bot_id() != selected:
            self.select_bot(selected)
        self._update_buttons()

    # -- selection -------------------------------------------------------------------

    def selected_bot_id(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row_record(rows[0].row()).bot.id if rows else None

    def select_bot(self, bot_id: str) -> bool:
        """Select the row of ``bot_id`` (emits ``bot_selected``); False if not listed."""
        row = self.model.row_of(bot_id)
        if row is None:
            return False
        self.view.selectRow(row)
        return True

    def _on_selection(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._update_buttons()
        bot_id = self.selected_bot_id()
        if bot_id is not None:
            self.bot_selected.emit(bot_id)

    def _update_buttons(self) -> None:
        can_trade = self._actor.role.can_trade()
        rows = self.view.selectionModel().selectedRows()
        bot = self.model.row_record(rows[0].row()).bot if rows else None
        status = bot.status if bot is not None else None
        self.new_button.setEnabled(can_trade)
        self.start_button.setEnabled(can_trade and status in _STARTABLE)
        self.stop_button.setEnabled(can_trade and status is not None and status.value in _STOPPABLE)
        self.resume_button.setEnabled(can_trade and bot is not None and is_paused(bot))

    # -- commands --------------------------------------------------------------------

    def open_new_bot_dialog(self) -> NewBotDialog:
        """Open the (non-modal) new-bot dialog; the new bot is selected when created."""
        dialog = NewBotDialog(self._bots, self._actor, self, strategies=self._strategies)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per click: free it after
        dialog.created.connect(self._on_created)
        dialog.open()
        return dialog

    def _on_created(self, bot: BotDefinition) -> None:
        self.refresh()
        self.select_bot(bot.id)
        self.message.emit(f"created bot {bot.name!r}")

    def _start_selected(self) -> None:
        bot_id = self.selected_bot_id()
        if bot_id is not None:
            self.bot_actions.start(bot_id)

    def _stop_selected(self) -> None:
        bot_id = self.selected_bot_id()
        if bot_id is not None:
            self.bot_actions.stop(bot_id)

    def _resume_selected(self) -> None:
        bot_id = self.selected_bot_id()
        if bot_id is not None:
            self.bot_actions.resume(bot_id)
