"""Every bot's book: cash, position and P&L valued at the last mark."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from task_station.domain.events import BotStatusChanged, PortfolioChanged
from task_station.engine.bus import EventBus
from task_station.gui.docks.base import TableDock
from task_station.gui.formatting import DASH, fmt_money, fmt_qty, fmt_signed, sign_of
from task_station.gui.palette import COLORS
from task_station.gui.table_model import Column
from task_station.services.trading import BookView, PortfolioService, PositionView


def position(book: BookView) -> PositionView | None:
    """The book's open position, else its first (flat) one, else None."""
    candidates = [p for p in book.positions if p.quantity != 0] or book.positions
    return candidates[0] if candidates else None


def _position_text(book: BookView) -> str:
    p = position(book)
    return DASH if p is None else fmt_qty(p.quantity)


def _pnl_colour(value_sign: int) -> str | None:
    return {1: COLORS["teal"], -1: COLORS["rust"]}.get(value_sign)


COLUMNS: list[Column[BookView]] = [
    Column("Bot", lambda b: b.bot_name, lambda b: COLORS["accent"]),
    Column("Cash", lambda b: fmt_money(b.cash), numeric=True),  # money columns: quote currency
    Column("Position", _position_text, numeric=True),
    Column(
        "Avg price",
        lambda b: fmt_money(p.average_price if (p := position(b)) else None),
        numeric=True,
    ),
    Column("Mark", lambda b: fmt_money(p.mark if (p := position(b)) else None), numeric=True),
    Column(
        "Realized",
        lambda b: fmt_signed(b.realized_pnl),
        lambda b: _pnl_colour(sign_of(b.realized_pnl)),
        True,
    ),
    Column(
        "Unrealized",
        lambda b: fmt_signed(b.unrealized_pnl),
        lambda b: _pnl_colour(sign_of(b.unrealized_pnl)),
        True,
    ),
    Column("Equity", lambda b: fmt_money(b.equity), lambda b: COLORS["text"], numeric=True),
]


class PortfolioDock(TableDock[BookView]):
    """Reloads ``PortfolioService.books()`` when a book changes or a bot starts."""

    def __init__(
        self, portfolio: PortfolioService, bus: EventBus, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "Portfolio", "portfolioDock", bus, COLUMNS, key=lambda b: b.bot_id, parent=parent
        )
        self._portfolio = portfolio
        self.setWidget(self.view)
        self.link.on(PortfolioChanged, self.refresh_soon)
        self.link.on(BotStatusChanged, self.refresh_soon)
        self.refresh()

    def load(self) -> list[BookView]:
        return self._portfolio.books()
