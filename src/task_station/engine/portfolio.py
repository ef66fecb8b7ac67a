"""A book of balances and positions, updated only from fills."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.balances import Balance
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, OrderSide
from task_station.domain.ports import PortfolioSnapshot
from task_station.domain.positions import Position


@dataclass(frozen=True, slots=True)
class Valuation:
    """A book marked to market, all in the quote currency."""

    cash: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal


class Portfolio:
    """Balances per asset and positions per symbol of one book (a bot or the account)."""

    def __init__(self, bot_id: str | None, quote: str, balances: dict[str, Decimal]) -> None:
        self.bot_id = bot_id
        self.quote = quote
        self._balances = {a: Balance(a, total=v) for a, v in balances.items()}
        self._positions: dict[str, Position] = {}
        self._marks: dict[str, Decimal] = {}

    @classmethod
    def from_snapshot(cls, snapshot: PortfolioSnapshot, quote: str) -> Portfolio:
        book = cls(snapshot.bot_id, quote, {})
        book._balances = {b.asset: b for b in snapshot.balances}
        book._positions = {p.symbol: p for p in snapshot.positions}
        book._marks = dict(snapshot.marks)
        return book

    @classmethod
    def from_fills(
        cls,
        bot_id: str | None,
        quote: str,
        initial: dict[str, Decimal],
        fills: Iterable[Fill],
        instrument_of: Callable[[str], Instrument],
    ) -> Portfolio:
        """Rebuild a book from its starting balances and every recorded fill.

        After a crash this is the trustworthy book: fills are written atomically with
        their order, while a snapshot may predate the last of them.
        """
        book = cls(bot_id, quote, initial)
        for fill in fills:
            book.apply_fill(fill, instrument_of(fill.symbol))
        return book

    def balance(self, asset: str) -> Balance:
        return self._balances.get(asset, Balance(asset))

    def position(self, symbol: str) -> Position:
        return self._positions.get(symbol, Position(symbol, bot_id=self.bot_id))

    def mark(self, symbol: str, price: Decimal) -> None:
        self._marks[symbol] = price

    def mark_of(self, symbol: str) -> Decimal | None:
        """The last price ``symbol`` was marked at (None before its first bar or fill)."""
        return self._marks.get(symbol)

    def apply_fill(self, fill: Fill, instrument: Instrument) -> None:
        """Move cash and holdings exactly as the fill says (fees in the quote currency)."""
        base, quote = self.balance(instrument.base), self.balance(instrument.quote)
        if fill.side is OrderSide.BUY:
            quote = quote.debit(fill.notional + fill.fee)
            base = base.credit(fill.quantity)
        else:
            base = base.debit(fill.quantity)
            quote = quote.credit(fill.notional - fill.fee)
        self._balances[instrument.base] = base
        self._balances[instrument.quote] = quote
        self._positions[fill.symbol] = self.position(fill.symbol).apply(fill)
        self._marks.setdefault(fill.symbol, fill.price)

    def valuation(self) -> Valuation:
        cash = self.balance(self.quote).total
        unrealized = realized = fees = ZERO
        holdings = ZERO
        for symbol, pos in self._positions.items():
            mark = self._marks.get(symbol)
            realized += pos.realized_pnl
            fees += pos.fees_paid
            if mark is not None and not pos.is_flat:
                unrealized += pos.unrealized_pnl(mark)
                holdings += pos.quantity * mark
        return Valuation(cash, cash + holdings, realized, unrealized, fees)

    def snapshot(self) -> PortfolioSnapshot:
        return PortfolioSnapshot(
            bot_id=self.bot_id,
            balances=tuple(self._balances.values()),
            positions=tuple(self._positions.values()),
            marks=tuple(self._marks.items()),
        )
