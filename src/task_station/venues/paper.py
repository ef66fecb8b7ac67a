"""Paper venue v1: market and limit orders filled against candles.

Rules (the same in backtests and paper trading):
- an order submitted after bar t closed is first matched against bar t+1;
- a market order fills at that bar's open (taker fee);
- a buy limit fills at the open if the bar opens at or below the limit (taker), else at
  the limit if the low trades through it (maker); sells mirror this;
- a quote-sized market buy spends at most its quote amount, fee included:
  ``size = quote / (open * (1 + taker))``, rounded down to the lot step;
- fees are charged in the quote currency.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import Clock
from task_station.domain.errors import InsufficientFunds, ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO, quantize_down
from task_station.domain.orders import Fill, Order, OrderSide, OrderStatus, OrderType
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderCanceledReport,
    OrderRejectedReport,
    VenueCapabilities,
    VenueListener,
    VenueOrderState,
    VenueReport,
)

#: Lot step used when the instrument declares none: fine enough to be invisible in P&L,
#: coarse enough that ``size * price`` stays exact in a 28-digit decimal context.
DEFAULT_SIZE_STEP = Decimal("1e-12")

PAPER_CAPABILITIES = VenueCapabilities(
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
    quote_sized_market_buy=True,
    candle_driven=True,
)


class PaperVenue:
    """A simulated spot account on one instrument, matched against closed candles."""

    capabilities = PAPER_CAPABILITIES

    def __init__(
        self,
        instrument: Instrument,
        balances: dict[str, Decimal],
        clock: Clock,
        *,
        maker_fee: Decimal = ZERO,
        taker_fee: Decimal = ZERO,
        name: str = "paper",
    ) -> None:
        self.name = name
        self._instrument = instrument
        self._balances = dict(balances)
        self._clock = clock
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self._pending: dict[str, Order] = {}
        # The venue's own memory of every order and fill: what reconciliation queries.
        self._known: dict[str, VenueOrderState] = {}
        self._fills: dict[str, list[Fill]] = {}
        self._listener: VenueListener | None = None
        self._ids: Callable[[], int] = itertools.count(1).__next__

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        if symbol != self._instrument.symbol:
            raise ValidationError(f"paper venue trades {self._instrument.symbol}, not {symbol}")
        return self._instrument

    async def fetch_balances(self) -> dict[str, Decimal]:
        return dict(self._balances)

    @property
    def open_orders(self) -> list[Order]:
        return list(self._pending.values())

    async def submit_order(self, order: Order) -> None:
        if order.client_order_id in self._known:
            # A resend of an order we already have (e.g. after an unknown outcome):
            # never create it twice, just repeat the acknowledgement.
            state = self._known[order.client_order_id]
            self._emit(
                OrderAcceptedReport(order.client_order_id, state.venue_order_id, self._clock.now())
            )
            return
        reason = self._check(order)
        if reason is not None:
            self._emit(OrderRejectedReport(order.client_order_id, reason, self._clock.now()))
            return
        self._pending[order.client_order_id] = order
        venue_id = f"P{self._ids()}"
        self._known[order.client_order_id] = VenueOrderState(
            order.client_order_id, venue_id, OrderStatus.ACCEPTED, ZERO
        )
        self._emit(OrderAcceptedReport(order.client_order_id, venue_id, self._clock.now()))

    async def cancel_order(self, order: Order) -> None:
        if self._pending.pop(order.client_order_id, None) is not None:
            self._set_state(order.client_order_id, OrderStatus.CANCELED)
            self._emit(OrderCanceledReport(order.client_order_id, self._clock.now()))

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        return self._known.get(order.client_order_id)

    async def fetch_fills(self, order: Order) -> list[Fill]:
        return list(self._fills.get(order.client_order_id, ()))

    def _set_state(self, cid: str, status: OrderStatus, filled: Decimal | None = None) -> None:
        state = self._known[cid]
        self._known[cid] = replace(
            state,
            status=status,
            filled_quantity=state.filled_quantity if filled is None else filled,
        )

    def process_bar(self, candle: Candle) -> None:
        """Match every pending order against ``candle``, in arrival order."""
        for order in list(self._pending.values()):
            price_and_role = self._match(order, candle)
            if price_and_role is None:
                continue
            price, role = price_and_role
            self._execute(order, price, role, candle)

    # -- internals -------------------------------------------------------------

    def _check(self, order: Order) -> str | None:
        try:
            instrument = self.instrument(order.symbol)
            if order.type not in self.capabilities.order_types:
                return f"order type {order.type.value} is not supported by {self.name}"
            if order.quantity is not None:
                instrument.check_order(order.quantity, order.price)
            if order.side is OrderSide.SELL and order.quantity is not None:
                held = self._balances.get(instrument.base, ZERO)
                if order.quantity > held:
                    raise InsufficientFunds(
                        f"sell {order.quantity} {instrument.base} but only {held} is held"
                    )
            if order.side is OrderSide.BUY:
                cost = self._max_buy_cost(order)
                have = self._balances.get(instrument.quote, ZERO)
                if cost is not None and cost > have:
                    raise InsufficientFunds(
                        f"buy needs up to {cost} {instrument.quote} but only {have} is free"
                    )
        except (ValidationError, InsufficientFunds) as exc:
            return str(exc)
        return None

    def _max_buy_cost(self, order: Order) -> Decimal | None:
        if order.quote_quantity is not None:
            return order.quote_quantity
        if order.price is not None and order.quantity is not None:
            return order.quantity * order.price * (1 + max(self.maker_fee, self.taker_fee))
        return None  # a base-sized market buy: checked at fill time against the open

    def _match(self, order: Order, bar: Candle) -> tuple[Decimal, str] | None:
        if order.type is OrderType.MARKET:
            return bar.open, "taker"
        limit = order.price
        assert limit is not None
        if order.side is OrderSide.BUY:
            if bar.open <= limit:
                return bar.open, "taker"
            return (limit, "maker") if bar.low < limit else None
        if bar.open >= limit:
            return bar.open, "taker"
        return (limit, "maker") if bar.high > limit else None

    def _execute(self, order: Order, price: Decimal, role: str, bar: Candle) -> None:
        fee_rate = self.taker_fee if role == "taker" else self.maker_fee
        instrument = self._instrument
        if order.quote_quantity is not None:
            size = self._size_for_quote(order.quote_quantity, price, fee_rate)
        else:
            assert order.quantity is not None
            size = order.quantity
        notional = size * price
        fee = notional * fee_rate
        now = self._clock.now()
        del self._pending[order.client_order_id]
        if size <= ZERO or size < instrument.min_size:
            reason = f"{order.symbol}: size {size} at {price} is below the venue minimum"
            self._set_state(order.client_order_id, OrderStatus.CANCELED)
            self._emit(OrderCanceledReport(order.client_order_id, now, reason))
            return
        base, quote = instrument.base, instrument.quote
        if order.side is OrderSide.BUY:
            if notional + fee > self._balances.get(quote, ZERO):
                reason = f"insufficient {quote} to buy {size} at {price}"
                self._set_state(order.client_order_id, OrderStatus.CANCELED)
                self._emit(OrderCanceledReport(order.client_order_id, now, reason))
                return
            self._balances[quote] = self._balances.get(quote, ZERO) - notional - fee
            self._balances[base] = self._balances.get(base, ZERO) + size
        else:
            self._balances[base] = self._balances.get(base, ZERO) - size
            self._balances[quote] = self._balances.get(quote, ZERO) + notional - fee
        fill = Fill(
            trade_id=f"{order.client_order_id}-1",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=size,
            fee=fee,
            fee_currency=quote,
            liquidity=role,
            ts=now,
            bot_id=order.bot_id,
        )
        self._fills.setdefault(order.client_order_id, []).append(fill)
        self._set_state(order.client_order_id, OrderStatus.FILLED, size)
        self._emit(FillReport(fill, order_complete=True))

    def _size_for_quote(self, quote: Decimal, price: Decimal, fee_rate: Decimal) -> Decimal:
        """Largest lot-aligned size whose cost, fee included, does not exceed ``quote``."""
        step = self._instrument.size_increment or DEFAULT_SIZE_STEP
        size = quantize_down(quote / (price * (1 + fee_rate)), step)
        while size > ZERO and size * price + size * price * fee_rate > quote:
            size -= step
        return size

    def _emit(self, report: VenueReport) -> None:
        if self._listener is not None:
            self._listener.on_venue_report(report)
