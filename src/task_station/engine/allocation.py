"""Virtual sub-portfolios: several bots sharing one account without touching each
other's money.

An exchange account has one balance per asset. When two bots trade it, nothing at the
exchange stops bot A from selling the coins bot B bought, or from spending the cash
the trader gave B. ``SubAccounts`` is that missing wall. Each bot gets an allocation
(the capital the trader assigns it) and a book of its own (``Portfolio``) that only its
fills move; before an order leaves, ``check`` holds it against that book:

- **Own money only.** A sell may not exceed what the bot's book holds minus what its
  other open sells already promise; a buy may not cost more than its free cash minus
  what its open buys reserve (limit price, or the last mark plus a slippage margin for
  a market order, fees included).
- **No trading with yourself.** An order that would cross another bot's resting order
  on the same symbol is refused: at a real exchange it would match against our own
  account (a wash trade, which most venues forbid and every tax report hates), and
  nothing would have changed except the fees paid.
- **Exclusive symbols, when asked.** With ``SymbolSharing.EXCLUSIVE`` a symbol belongs to
  the first bot that registers it; a second bot on it is refused at registration.

Because every fill lands in exactly one bot's book and in the account's, the bots' P&L
adds up to the account's: cash and holdings are conserved fill by fill (what the
account holds beyond the allocations is the trader's unallocated reserve).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Order, OrderSide, OrderStatus, OrderType
from task_station.engine.portfolio import Portfolio

#: Extra room kept on a market buy's estimated cost (the price can move before it fills).
MARKET_BUY_MARGIN = Decimal("0.02")


class SymbolSharing(StrEnum):
    SHARED = "shared"  # several bots may trade one symbol, each with its own money
    EXCLUSIVE = "exclusive"  # one bot per symbol on this account


@dataclass(frozen=True, slots=True)
class Allocation:
    """The capital a trader assigns one bot out of an account, and what it trades."""

    bot_id: str
    balances: Mapping[str, Decimal]
    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValidationError(f"bot {self.bot_id} must trade at least one symbol")
        for asset, amount in self.balances.items():
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < ZERO:
                raise ValidationError(
                    f"bot {self.bot_id}: the allocation of {asset} must be an amount >= 0, "
                    f"got {amount!r}"
                )


@dataclass
class _Member:
    allocation: Allocation
    portfolio: Portfolio
    open_orders: Callable[[], Sequence[Order]] = field(default=lambda: ())


class SubAccounts:
    """Allocations of one account's balances to bots, and the rules between them."""

    def __init__(
        self,
        account_balances: Mapping[str, Decimal],
        instrument_of: Callable[[str], Instrument],
        *,
        sharing: SymbolSharing = SymbolSharing.SHARED,
        max_fee: Decimal = ZERO,
    ) -> None:
        self._account = dict(account_balances)
        self._instrument_of = instrument_of
        self.sharing = sharing
        self._max_fee = max_fee
        self._members: dict[str, _Member] = {}

    # -- registration -------------------------------------------------------------------

    def register(self, allocation: Allocation, quote: str) -> Portfolio:
        """Give a bot its share of the account; returns the book its fills will move.

        Refused (nothing changes) when the bot is known, when the allocations would
        exceed what the account holds, or when an exclusive symbol is taken.
        """
        if allocation.bot_id in self._members:
            raise ValidationError(f"bot {allocation.bot_id} already has an allocation")
        for asset, amount in allocation.balances.items():
            if asset != quote and amount > ZERO:
                raise ValidationError(
                    f"bot {allocation.bot_id}: allocate {quote} cash, not {asset}; coins "
                    f"handed over without a purchase price would have no cost basis for P&L"
                )
        for symbol in allocation.symbols:
            self._instrument_of(symbol)  # the account must trade it
        free = self.unallocated()
        for asset, amount in allocation.balances.items():
            if amount > free.get(asset, ZERO):
                raise ValidationError(
                    f"cannot allocate {amount} {asset} to bot {allocation.bot_id}: only "
                    f"{free.get(asset, ZERO)} {asset} of the account is not yet allocated"
                )
        if self.sharing is SymbolSharing.EXCLUSIVE:
            for member in self._members.values():
                taken = set(member.allocation.symbols) & set(allocation.symbols)
                if taken:
                    raise ValidationError(
                        f"{', '.join(sorted(taken))} already belongs to bot "
                        f"{member.allocation.bot_id} and this account trades each symbol "
                        f"with one bot only (symbol sharing is exclusive)"
                    )
        book = Portfolio(allocation.bot_id, quote, dict(allocation.balances))
        self._members[allocation.bot_id] = _Member(allocation, book)
        return book

    def attach_orders(self, bot_id: str, open_orders: Callable[[], Sequence[Order]]) -> None:
        """Tell the rules where to find a bot's working orders (its order manager)."""
        self._member(bot_id).open_orders = open_orders

    def unallocated(self) -> dict[str, Decimal]:
        """What the account holds that no bot has been given (at registration time)."""
        free = dict(self._account)
        for member in self._members.values():
            for asset, amount in member.allocation.balances.items():
                free[asset] = free.get(asset, ZERO) - amount
        return free

    def portfolio(self, bot_id: str) -> Portfolio:
        return self._member(bot_id).portfolio

    @property
    def bot_ids(self) -> tuple[str, ...]:
        return tuple(self._members)

    # -- the pre-trade rule -------------------------------------------------------------

    def guard(self, bot_id: str) -> Callable[[Order], str | None]:
        """``check`` bound to one bot, in the shape ``OrderManager(guard=...)`` takes."""
        self._member(bot_id)
        return lambda order: self.check(bot_id, order)

    def check(self, bot_id: str, order: Order) -> str | None:
        """A refusal naming the rule and the numbers, or None to let the order go."""
        member = self._member(bot_id)
        if order.symbol not in member.allocation.symbols:
            listed = ", ".join(member.allocation.symbols)
            return f"bot {bot_id} trades {listed} on this account, not {order.symbol}"
        instrument = self._instrument_of(order.symbol)
        book = member.portfolio
        mine = [o for o in member.open_orders() if o.client_order_id != order.client_order_id]
        if order.side is OrderSide.SELL:
            promised = sum(
                (_remaining(o) for o in mine
                 if o.side is OrderSide.SELL and self._base(o) == instrument.base),
                ZERO,
            )  # fmt: skip
            held = book.balance(instrument.base).total
            wanted = order.quantity if order.quantity is not None else ZERO
            if wanted + promised > held:
                return (
                    f"bot {bot_id} holds {held} {instrument.base} in its sub-portfolio "
                    f"({promised} already promised to open sells); it cannot sell {wanted}: "
                    f"the rest of the account's {instrument.base} belongs to other bots "
                    f"or to the trader"
                )
        else:
            cost = self._cost(order, book)
            if cost is None:
                return (
                    f"no price is known for {order.symbol} yet, so the cost of a market buy "
                    f"cannot be checked against bot {bot_id}'s cash; wait for the first bar"
                )
            reserved = ZERO
            for o in mine:
                if o.side is OrderSide.BUY and self._quote(o) == instrument.quote:
                    reserved += self._cost(o, book) or ZERO
            cash = book.balance(instrument.quote).total
            if cost + reserved > cash:
                return (
                    f"bot {bot_id} has {cash - reserved} {instrument.quote} free in its "
                    f"sub-portfolio ({reserved} reserved by open buys); this buy may cost "
                    f"{cost.quantize(Decimal('0.01'))} {instrument.quote}"
                )
        return self._self_trade(bot_id, order)

    # -- internals ----------------------------------------------------------------------

    def _self_trade(self, bot_id: str, order: Order) -> str | None:
        # Only orders that trade on arrival can cross: stops are checked when they are
        # released (a watched stop goes out as a market or limit order).
        if order.type not in (OrderType.MARKET, OrderType.LIMIT):
            return None
        for other_id, other in self._members.items():
            if other_id == bot_id:
                continue
            for resting in other.open_orders():
                if resting.symbol != order.symbol or resting.side is order.side:
                    continue
                if not _rests_at_price(resting) or resting.price is None:
                    continue
                crosses = order.price is None or (
                    order.price >= resting.price
                    if order.side is OrderSide.BUY
                    else order.price <= resting.price
                )
                if crosses:
                    return (
                        f"this {order.side.value} would trade against bot {other_id}'s "
                        f"{resting.side.value} {_remaining(resting)} {order.symbol} at "
                        f"{resting.price} on the same account (a self-trade): change the price "
                        f"or let one bot trade this symbol"
                    )
        return None

    def _cost(self, order: Order, book: Portfolio) -> Decimal | None:
        fee = 1 + self._max_fee
        if order.quote_quantity is not None:
            spent = order.filled_notional + order.fees
            return max(ZERO, order.quote_quantity - spent)
        remaining = _remaining(order)
        if order.price is not None:
            return remaining * order.price * fee
        mark = book.mark_of(order.symbol)
        if mark is None:
            return None
        return remaining * mark * fee * (1 + MARKET_BUY_MARGIN)

    def _base(self, order: Order) -> str:
        return self._instrument_of(order.symbol).base

    def _quote(self, order: Order) -> str:
        return self._instrument_of(order.symbol).quote

    def _member(self, bot_id: str) -> _Member:
        try:
            return self._members[bot_id]
        except KeyError:
            raise ValidationError(f"bot {bot_id} has no allocation on this account") from None


def _remaining(order: Order) -> Decimal:
    left = order.remaining_quantity
    return left if left is not None else ZERO


def _rests_at_price(order: Order) -> bool:
    """A working order another order could trade against at its price."""
    if order.type is OrderType.LIMIT:
        return order.status.is_open
    return order.type is OrderType.STOP_LIMIT and order.status is OrderStatus.TRIGGERED
