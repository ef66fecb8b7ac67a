"""Read models for orders, fills and portfolios."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.errors import NotFoundError, ValidationError
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order, OrderStatus
from task_station.domain.ports import BotStore, OrderStore, PortfolioStore


class OrderService:
    def __init__(self, orders: OrderStore) -> None:
        self._orders = orders

    def list(
        self, *, bot_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> builtins.list[Order]:
        if not 1 <= limit <= 5000:
            raise ValidationError("limit must be between 1 and 5000")
        statuses = None
        if status is not None:
            try:
                statuses = [OrderStatus(status)]
            except ValueError:
                known = ", ".join(s.value for s in OrderStatus)
                raise ValidationError(
                    f"unknown order status {status!r}; use one of {known}"
                ) from None
        return self._orders.list(bot_id=bot_id, statuses=statuses, limit=limit)

    def fills(self, *, bot_id: str | None = None, limit: int = 5000) -> builtins.list[Fill]:
        return self._orders.list_fills(bot_id=bot_id, limit=limit)


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    quantity: Decimal
    average_price: Decimal | None
    mark: Decimal | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal


@dataclass(frozen=True, slots=True)
class BookView:
    """One bot's book, valued at the last marks (all money in the quote currency)."""

    bot_id: str
    bot_name: str
    quote: str
    balances: dict[str, Decimal]
    positions: list[PositionView]
    cash: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal


class PortfolioService:
    def __init__(self, portfolios: PortfolioStore, bots: BotStore) -> None:
        self._portfolios = portfolios
        self._bots = bots

    def books(self) -> builtins.list[BookView]:
        return [
            book
            for bot in self._bots.list()
            if (book := self._book(bot.id, bot.name, bot.symbol)) is not None
        ]

    def book(self, bot_id: str) -> BookView:
        bot = self._bots.get(bot_id)
        if bot is None:
            raise NotFoundError(f"no bot with id {bot_id!r}")
        found = self._book(bot.id, bot.name, bot.symbol)
        if found is None:
            quote = bot.symbol.split("/")[1]
            return BookView(
                bot.id,
                bot.name,
                quote,
                {quote: bot.quote_budget},
                [],
                bot.quote_budget,
                bot.quote_budget,
                ZERO,
                ZERO,
                ZERO,
            )
        return found

    def _book(self, bot_id: str, name: str, symbol: str) -> BookView | None:
        snap = self._portfolios.load(bot_id)
        if snap is None:
            return None
        quote = symbol.split("/")[1]
        marks = dict(snap.marks)
        positions = []
        realized = unrealized = fees = holdings = ZERO
        for p in snap.positions:
            mark = marks.get(p.symbol)
            upnl = p.unrealized_pnl(mark) if mark is not None else ZERO
            positions.append(
                PositionView(
                    p.symbol, p.quantity, p.average_price, mark, p.realized_pnl, upnl, p.fees_paid
                )
            )
            realized += p.realized_pnl
            unrealized += upnl
            fees += p.fees_paid
            holdings += p.quantity * mark if mark is not None else ZERO
        balances = {b.asset: b.total for b in snap.balances}
        cash = balances.get(quote, ZERO)
        return BookView(
            bot_id,
            name,
            quote,
            balances,
            positions,
            cash,
            cash + holdings,
            realized,
            unrealized,
            fees,
        )
