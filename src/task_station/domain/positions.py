"""Positions with average-cost accounting.

Buy fees go into the cost basis; sell fees reduce the realized P&L. With that rule the
identity ``equity = starting cash + realized + unrealized`` holds exactly, which the
tests check on every fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from task_station.domain.fast_init import fast_init
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, OrderSide


@dataclass(frozen=True, slots=True)
class Position:
    """A signed position in one instrument (positive long, negative short).

    ``cost`` is the signed cost basis of the open quantity, fees included; the average
    entry price is ``cost / quantity``.
    """

    symbol: str
    quantity: Decimal = ZERO
    cost: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    bot_id: str | None = None

    @property
    def is_flat(self) -> bool:
        return self.quantity == ZERO

    @property
    def average_price(self) -> Decimal | None:
        if self.quantity == ZERO:
            return None
        return self.cost / self.quantity

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """P&L of the open quantity if it were closed at ``mark`` without further fees."""
        return self.quantity * mark - self.cost

    def apply(self, fill: Fill) -> Position:
        """Return the position after ``fill``."""
        signed_qty = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        # A fee raises the cost of what we buy and lowers the proceeds of what we sell.
        signed_cash = fill.notional * (1 if fill.side is OrderSide.BUY else -1) + fill.fee
        qty, cost, realized = self.quantity, self.cost, self.realized_pnl

        same_direction = qty == ZERO or (qty > ZERO) == (signed_qty > ZERO)
        if same_direction:
            return Position(
                self.symbol,
                qty + signed_qty,
                cost + signed_cash,
                realized,
                self.fees_paid + fill.fee,
                self.bot_id,
            )

        closing = min(abs(signed_qty), abs(qty))
        # Whole closes take the whole cost (no division); partial ones multiply first.
        closed_cost = cost if closing == abs(qty) else cost * closing / abs(qty)
        closing_cash = -signed_cash  # +proceeds for a sale
        if closing != abs(signed_qty):
            closing_cash = closing_cash * closing / abs(signed_qty)
        realized += closing_cash - closed_cost
        opening = abs(signed_qty) - closing
        if opening > ZERO:
            # The fill flipped the position: the rest opens a new one at the fill's terms.
            cost = signed_cash * opening / abs(signed_qty)
            new_qty = opening if signed_qty > ZERO else -opening
        else:
            cost -= closed_cost
            new_qty = qty + (closing if signed_qty > ZERO else -closing)
        if new_qty == ZERO:
            cost = ZERO
        return Position(
            self.symbol, new_qty, cost, realized, self.fees_paid + fill.fee, self.bot_id
        )


fast_init(Position)  # one per fill (domain/fast_init.py)
