"""``MatchingPaperVenue``: the ``Venue`` protocol over the matching engine.

A drop-in for the v1 ``PaperVenue`` (same constructor, same methods, same fills with
the default ``MatchingConfig``) that adds stops, time in force, post-only, reduce-only,
depth, volume caps, slippage and latency. It keeps its own copy of every order and moves
it through the domain state machine, so an illegal sequence fails here, loudly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from decimal import Decimal

from task_station.domain.candles import Candle
from task_station.domain.clock import Clock, datetime_to_ms
from task_station.domain.errors import ValidationError
from task_station.domain.instruments import Instrument
from task_station.domain.money import ZERO
from task_station.domain.orders import Fill, Order, OrderStatus, OrderType
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderCanceledReport,
    OrderRejectedReport,
    OrderTriggeredReport,
    VenueCapabilities,
    VenueListener,
    VenueOrderState,
    VenueReport,
)
from task_station.venues.matching.engine import MatchingEngine
from task_station.venues.matching.ledger import Ledger
from task_station.venues.matching.model import (
    Accepted,
    Canceled,
    EngineEvent,
    Filled,
    MatchingConfig,
    Rejected,
    Triggered,
)

MATCHING_CAPABILITIES = VenueCapabilities(
    order_types=frozenset(OrderType),
    quote_sized_market_buy=True,
    candle_driven=True,
)


class MatchingPaperVenue:
    """A simulated spot account on one instrument, backed by ``MatchingEngine``."""

    capabilities = MATCHING_CAPABILITIES

    def __init__(
        self,
        instrument: Instrument,
        balances: dict[str, Decimal],
        clock: Clock,
        *,
        maker_fee: Decimal = ZERO,
        taker_fee: Decimal = ZERO,
        name: str = "paper",
        config: MatchingConfig | None = None,
        ledger: Ledger | None = None,
        ids: Callable[[], int] | None = None,
    ) -> None:
        self.name = name
        self._clock = clock
        if config is None:
            config = MatchingConfig(maker_fee=maker_fee, taker_fee=taker_fee)
        self.engine = MatchingEngine(instrument, balances, config, name=name, ledger=ledger)
        #: Every order the venue has seen, by client order id, as the venue knows it.
        self.orders: dict[str, Order] = {}
        self._listener: VenueListener | None = None
        self._ids: Callable[[], int] = ids or itertools.count(1).__next__

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        inst = self.engine.instrument
        if symbol != inst.symbol:
            raise ValidationError(f"{self.name} trades {inst.symbol}, not {symbol}")
        return inst

    async def fetch_balances(self) -> dict[str, Decimal]:
        """Free plus locked per asset (what the account owns)."""
        return self.engine.ledger.totals()

    def balance_detail(self) -> dict[str, tuple[Decimal, Decimal]]:
        """``(free, locked)`` per asset, for venues that report both (the simulator)."""
        ledger = self.engine.ledger
        return {a: (ledger.free.get(a, ZERO), ledger.locked.get(a, ZERO)) for a in ledger.totals()}

    @property
    def open_orders(self) -> list[Order]:
        return [self.orders[cid] for cid in self.engine.working]

    async def submit_order(self, order: Order) -> None:
        self.submit_now(order)

    def submit_now(self, order: Order) -> Order:
        """Synchronous submit: apply the outcome and return the venue's copy of the order."""
        cid = order.client_order_id
        known = self.orders.get(cid)
        if known is not None:
            # A resend after an unknown outcome: never create it twice, repeat the ack.
            if known.venue_order_id is not None:
                self._emit(OrderAcceptedReport(cid, known.venue_order_id, self._clock.now()))
            return known
        if order.status is OrderStatus.INITIALIZED:
            order = order.submit(self._clock.now())
        self.orders[cid] = order
        self._apply(self.engine.submit(order, datetime_to_ms(self._clock.now())))
        return self.orders[cid]

    async def cancel_order(self, order: Order) -> None:
        self.cancel_now(order.client_order_id)

    def cancel_now(self, cid: str, reason: str | None = None) -> bool:
        """Cancel by client order id; False if the order is not working."""
        events = self.engine.cancel(cid, reason)
        self._apply(events)
        return bool(events)

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        known = self.orders.get(order.client_order_id)
        if known is None or known.venue_order_id is None:
            return None
        return VenueOrderState(
            known.client_order_id, known.venue_order_id, known.status, known.filled_quantity
        )

    async def fetch_fills(self, order: Order) -> list[Fill]:
        known = self.orders.get(order.client_order_id)
        return list(known.fills) if known is not None else []

    @property
    def slippage_paid(self) -> Decimal:
        """Quote lost to the slippage model so far (|slipped - reference| x quantity)."""
        return self.engine.slippage_paid

    @property
    def idle(self) -> bool:
        """No order is working: a bar can change nothing here but the last price, time
        and bar volume, which the next processed bar sets again (replays skip such bars)."""
        return not self.engine.working

    def process_bar(self, candle: Candle) -> None:
        """Match every working order against ``candle``, in arrival order."""
        self._apply(self.engine.on_bar(candle))

    def set_book(
        self,
        bids: Iterable[tuple[Decimal, Decimal]],
        asks: Iterable[tuple[Decimal, Decimal]],
    ) -> None:
        """Give the venue an order-book snapshot: later orders fill against its depth."""
        self._apply(self.engine.set_book(bids, asks, datetime_to_ms(self._clock.now())))

    # -- events -> domain transitions -> reports ----------------------------------

    def _apply(self, events: list[EngineEvent]) -> None:
        for event in events:
            report = self._transition(event)
            if report is not None:
                self._emit(report)

    def _transition(self, event: EngineEvent) -> VenueReport | None:
        now = self._clock.now()
        order = self.orders[event.cid]
        report: VenueReport
        if isinstance(event, Filled):
            fill = Fill(
                trade_id=f"{event.cid}-{len(order.fills) + 1}",
                client_order_id=event.cid,
                symbol=order.symbol,
                side=order.side,
                price=event.price,
                quantity=event.quantity,
                fee=event.fee,
                fee_currency=self.engine.instrument.quote,
                liquidity=event.liquidity,
                ts=now,
                bot_id=order.bot_id,
            )
            order = order.fill(fill, complete=event.complete)
            report = FillReport(fill, order_complete=event.complete)
        elif isinstance(event, Accepted):
            venue_id = str(self._ids())
            order = order.accept(venue_id, now)
            report = OrderAcceptedReport(event.cid, venue_id, now)
        elif isinstance(event, Rejected):
            order = order.reject(event.reason, now)
            report = OrderRejectedReport(event.cid, event.reason, now)
        elif isinstance(event, Triggered):
            order = order.trigger(now)
            report = OrderTriggeredReport(event.cid, now)
        elif isinstance(event, Canceled):
            order = order.cancel(now, event.reason)
            report = OrderCanceledReport(event.cid, now, event.reason)
        self.orders[event.cid] = order
        return report

    def _emit(self, report: VenueReport) -> None:
        if self._listener is not None:
            self._listener.on_venue_report(report)
