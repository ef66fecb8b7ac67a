"""Orders and their state machine.

An order changes only by applying an event; the transition table below is the single
source of truth for what may follow what. An illegal transition names both states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import cast

from task_station.domain.errors import InvalidOrderTransition, ValidationError
from task_station.domain.fast_init import fast_init
from task_station.domain.money import ZERO


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"  # becomes a market order when the trigger price trades
    STOP_LIMIT = "stop_limit"  # becomes a limit order when the trigger price trades

    @property
    def is_stop(self) -> bool:
        return self in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)

    @property
    def has_limit_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till canceled
    IOC = "ioc"  # immediate or cancel: fill what can be filled now, cancel the rest
    FOK = "fok"  # fill or kill: fill everything now or nothing


class OrderStatus(StrEnum):
    INITIALIZED = "initialized"  # intent persisted, not yet sent
    DENIED = "denied"  # refused by a pre-trade check, never sent
    SUBMITTED = "submitted"  # sent, venue has not answered
    ACCEPTED = "accepted"  # resting at the venue
    TRIGGERED = "triggered"  # a stop order whose trigger traded; now working
    REJECTED = "rejected"  # the venue refused it
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        return not self.is_terminal and self is not OrderStatus.INITIALIZED


_TERMINAL = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
    }
)

S = OrderStatus
#: (current status, event kind) -> next status. ``fill`` resolves to PARTIALLY_FILLED or
#: FILLED depending on the remaining quantity; both must be allowed here.
TRANSITIONS: dict[tuple[OrderStatus, str], frozenset[OrderStatus]] = {
    (S.INITIALIZED, "deny"): frozenset({S.DENIED}),
    (S.INITIALIZED, "submit"): frozenset({S.SUBMITTED}),
    (S.SUBMITTED, "accept"): frozenset({S.ACCEPTED}),
    (S.SUBMITTED, "reject"): frozenset({S.REJECTED}),
    (S.SUBMITTED, "fill"): frozenset({S.PARTIALLY_FILLED, S.FILLED}),
    (S.SUBMITTED, "cancel"): frozenset({S.CANCELED}),
    (S.SUBMITTED, "expire"): frozenset({S.EXPIRED}),
    (S.ACCEPTED, "trigger"): frozenset({S.TRIGGERED}),
    # An on-chain swap: the node accepted the transaction, then the chain reverted it.
    (S.ACCEPTED, "reject"): frozenset({S.REJECTED}),
    (S.TRIGGERED, "fill"): frozenset({S.PARTIALLY_FILLED, S.FILLED}),
    (S.TRIGGERED, "cancel"): frozenset({S.CANCELED}),
    (S.TRIGGERED, "expire"): frozenset({S.EXPIRED}),
    (S.ACCEPTED, "fill"): frozenset({S.PARTIALLY_FILLED, S.FILLED}),
    (S.ACCEPTED, "cancel"): frozenset({S.CANCELED}),
    (S.ACCEPTED, "expire"): frozenset({S.EXPIRED}),
    (S.PARTIALLY_FILLED, "fill"): frozenset({S.PARTIALLY_FILLED, S.FILLED}),
    (S.PARTIALLY_FILLED, "cancel"): frozenset({S.CANCELED}),
    (S.PARTIALLY_FILLED, "expire"): frozenset({S.EXPIRED}),
}


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order. Fees are charged in the quote currency."""

    trade_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: str  # "maker" or "taker"
    ts: datetime
    bot_id: str | None = None

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class Order:
    """An order and everything that happened to it.

    ``quantity`` is in base units; a market buy may instead give ``quote_quantity`` (spend
    at most this much quote currency, fee included), resolved by the venue at fill time.
    """

    client_order_id: str
    venue: str
    symbol: str
    side: OrderSide
    type: OrderType
    created_at: datetime
    quantity: Decimal | None = None
    quote_quantity: Decimal | None = None
    price: Decimal | None = None
    bot_id: str | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    status: OrderStatus = OrderStatus.INITIALIZED
    filled_quantity: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees: Decimal = ZERO
    venue_order_id: str | None = None
    reason: str | None = None
    updated_at: datetime | None = None
    #: Why it was sent (see ``SubmitOrder.tag``); ``reason`` is why it was refused.
    tag: str | None = None
    fills: tuple[Fill, ...] = field(default=())

    def __post_init__(self) -> None:
        if (self.quantity is None) == (self.quote_quantity is None):
            raise ValidationError("an order needs exactly one of quantity or quote_quantity")
        amount = self.quantity if self.quantity is not None else self.quote_quantity
        if amount is None or amount <= ZERO:
            raise ValidationError(
                f"{self.symbol} {self.side} order: quantity must be positive, got {amount}"
            )
        if self.quote_quantity is not None and not (
            self.type is OrderType.MARKET and self.side is OrderSide.BUY
        ):
            raise ValidationError("quote_quantity is only allowed on market buy orders")
        if self.type.has_limit_price and (self.price is None or self.price <= ZERO):
            raise ValidationError(f"{self.symbol} {self.type.value} order needs a positive price")
        if not self.type.has_limit_price and self.price is not None:
            raise ValidationError(f"{self.symbol} {self.type.value} order must not carry a price")
        if self.type.is_stop and (self.trigger_price is None or self.trigger_price <= ZERO):
            raise ValidationError(
                f"{self.symbol} {self.type.value} order needs a positive trigger price"
            )
        if not self.type.is_stop and self.trigger_price is not None:
            raise ValidationError(
                f"{self.symbol} {self.type.value} order must not carry a trigger price"
            )
        if self.post_only and (
            self.type is not OrderType.LIMIT or self.time_in_force is not TimeInForce.GTC
        ):
            raise ValidationError(
                f"{self.symbol}: post-only needs a good-till-canceled limit order"
            )

    @property
    def average_price(self) -> Decimal | None:
        if self.filled_quantity == ZERO:
            return None
        return self.filled_notional / self.filled_quantity

    @property
    def remaining_quantity(self) -> Decimal | None:
        """Base quantity still to fill; None for a quote-sized order not yet filled."""
        if self.quantity is None:
            return None
        return self.quantity - self.filled_quantity

    def _move(self, kind: str, target: OrderStatus) -> None:
        allowed = TRANSITIONS.get((self.status, kind), frozenset())
        if target not in allowed:
            raise InvalidOrderTransition(
                f"order {self.client_order_id}: cannot {kind} from {self.status.value} "
                f"to {target.value}"
            )

    def _to(self, kind: str, target: OrderStatus, when: datetime, **changes: object) -> Order:
        self._move(kind, target)
        # A transition changes only state fields (status, fills, fees, ids, reasons),
        # never what ``__post_init__`` checks, so the copy skips the constructor:
        # ``dataclasses.replace`` costs ~12 µs an order event, this ~2 µs.
        new = _clone_order(self)
        _SET_STATUS(new, target)
        _SET_UPDATED_AT(new, when)
        for name, value in changes.items():
            setter = _STATE_SETTERS.get(name)
            if setter is None:
                raise TypeError(f"an order transition cannot change {name!r}")
            setter(new, value)
        return new

    def deny(self, reason: str, when: datetime) -> Order:
        return self._to("deny", OrderStatus.DENIED, when, reason=reason)

    def submit(self, when: datetime) -> Order:
        return self._to("submit", OrderStatus.SUBMITTED, when)

    def accept(self, venue_order_id: str, when: datetime) -> Order:
        return self._to("accept", OrderStatus.ACCEPTED, when, venue_order_id=venue_order_id)

    def reject(self, reason: str, when: datetime) -> Order:
        return self._to("reject", OrderStatus.REJECTED, when, reason=reason)

    def trigger(self, when: datetime) -> Order:
        return self._to("trigger", OrderStatus.TRIGGERED, when)

    def cancel(self, when: datetime, reason: str | None = None) -> Order:
        return self._to("cancel", OrderStatus.CANCELED, when, reason=reason)

    def expire(self, when: datetime) -> Order:
        return self._to("expire", OrderStatus.EXPIRED, when)

    def fill(self, fill: Fill, *, complete: bool | None = None) -> Order:
        """Apply one fill. ``complete`` closes a quote-sized order, whose base size is unknown."""
        if fill.client_order_id != self.client_order_id or fill.side is not self.side:
            raise InvalidOrderTransition(
                f"fill {fill.trade_id} does not belong to order {self.client_order_id}"
            )
        if fill.quantity <= ZERO:
            raise InvalidOrderTransition(f"fill {fill.trade_id} has no quantity")
        if any(f.trade_id == fill.trade_id for f in self.fills):
            raise InvalidOrderTransition(
                f"fill {fill.trade_id} already applied to {self.client_order_id}"
            )
        filled = self.filled_quantity + fill.quantity
        if self.quantity is not None:
            if filled > self.quantity:
                raise InvalidOrderTransition(
                    f"order {self.client_order_id}: fill {fill.quantity} overfills "
                    f"{self.quantity} (already {self.filled_quantity})"
                )
            done = filled == self.quantity
        else:
            done = bool(complete)
        target = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        return self._to(
            "fill",
            target,
            fill.ts,
            filled_quantity=filled,
            filled_notional=self.filled_notional + fill.notional,
            fees=self.fees + fill.fee,
            fills=(*self.fills, fill),
        )


_STATE_SETTERS = {
    name: vars(Order)[name].__set__
    for name in ("filled_quantity", "filled_notional", "fees", "venue_order_id", "reason", "fills")
}
_SET_STATUS = vars(Order)["status"].__set__
_SET_UPDATED_AT = vars(Order)["updated_at"].__set__


def _make_clone() -> Callable[[Order], Order]:
    """A straight-line field copy of ``Order`` through its slots' own setters (one C
    call a field; a loop over ``fields()`` costs twice as much)."""
    names = [f.name for f in fields(Order)]
    scope: dict[str, object] = {"new": object.__new__, "Order": Order}
    lines = ["def clone(o):", "    n = new(Order)"]
    for k, name in enumerate(names):
        scope[f"set{k}"] = vars(Order)[name].__set__
        lines.append(f"    set{k}(n, o.{name})")
    lines.append("    return n")
    exec("\n".join(lines), scope)  # noqa: S102 - code built from the dataclass's own fields
    return cast(Callable[[Order], Order], scope["clone"])


_clone_order = _make_clone()


for _hot in (Order, Fill):  # built per order and per fill: see domain/fast_init.py
    fast_init(_hot)
