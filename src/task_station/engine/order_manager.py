"""The order manager: write-ahead order intents and venue reports applied to orders.

Every order is stored as INITIALIZED before anything is sent, then marked SUBMITTED,
then sent. A crash between any two of those steps leaves a record that reconciliation
can resolve; an order is never sent without a trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

from task_station.domain.clock import Clock
from task_station.domain.commands import CancelOrder, SubmitOrder
from task_station.domain.errors import (
    ConfigurationError,
    InsufficientFunds,
    InvalidOrderTransition,
    NotFoundError,
    TaskStationError,
    ValidationError,
)
from task_station.domain.events import (
    OrderDenied,
    OrderFilled,
    OrderUpdated,
    PortfolioChanged,
    ReconciliationCompleted,
)
from task_station.domain.orders import Order, OrderSide, OrderStatus
from task_station.domain.ports import AuditLog, OrderStore, PortfolioStore
from task_station.engine.bus import EventBus
from task_station.engine.portfolio import Portfolio
from task_station.engine.reconciliation import (
    Findings,
    adopt_final_state,
    open_orders,
    report,
    settle_unknown,
)
from task_station.engine.risk import RiskManager
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderCanceledReport,
    OrderRejectedReport,
    OrderTriggeredReport,
    Reconcilable,
    Venue,
    VenueOrderState,
    VenueReport,
)

log = logging.getLogger(__name__)

#: Wall-clock seconds between two stored mark-to-market snapshots of a running book.
MARK_PERSIST_SECONDS = 1.0


def new_client_order_id() -> str:
    return "ts-" + uuid.uuid4().hex[:24]


class OrderManager:
    """Owns the orders of one book on one venue."""

    def __init__(
        self,
        *,
        venue: Venue,
        store: OrderStore,
        portfolio: Portfolio,
        bus: EventBus,
        clock: Clock,
        portfolio_store: PortfolioStore | None = None,
        ids: Callable[[], str] = new_client_order_id,
        risk: RiskManager | None = None,
        guard: Callable[[Order], str | None] | None = None,
    ) -> None:
        self._venue = venue
        #: A rule of the account this book shares (``SubAccounts.guard``), checked
        #: before the risk limits; None for a bot alone on its venue.
        self._guard = guard
        self._store = store
        self._portfolio = portfolio
        self._portfolio_store = portfolio_store
        self._bus = bus
        self._clock = clock
        self._ids = ids
        self._open: dict[str, Order] = {}
        self._last_persist = 0.0
        venue.set_listener(self)
        self.risk = risk
        if risk is not None:  # the station-wide limits count this book while it trades
            risk.attach(portfolio, lambda: self.open_orders)

    @property
    def open_orders(self) -> list[Order]:
        return list(self._open.values())

    async def submit(self, command: SubmitOrder) -> Order:
        """Persist, check and send an order; returns it as it stands after sending."""
        now = self._clock.now()
        order = Order(
            client_order_id=self._ids(),
            venue=self._venue.name,
            symbol=command.symbol,
            side=command.side,
            type=command.type,
            created_at=now,
            quantity=command.quantity,
            quote_quantity=command.quote_quantity,
            price=command.price,
            bot_id=command.bot_id if command.bot_id is not None else self._portfolio.bot_id,
            trigger_price=command.trigger_price,
            time_in_force=command.time_in_force,
            post_only=command.post_only,
            reduce_only=command.reduce_only,
            tag=command.tag,
        )
        self._store.add(order)
        reason = self._pre_trade_check(order)
        if reason is not None:
            denied = order.deny(reason, now)
            self._store.update(denied)
            self._bus.publish(OrderDenied(now, denied, reason))
            return denied
        submitted = order.submit(now)
        self._store.update(submitted)
        self._open[submitted.client_order_id] = submitted
        if self._bus.wants(OrderUpdated):
            self._bus.publish(OrderUpdated(now, submitted))
        await self._venue.submit_order(submitted)
        return self._open.get(submitted.client_order_id) or self._stored(submitted)

    async def cancel(self, command: CancelOrder) -> None:
        order = self._open.get(command.client_order_id)
        if order is None:
            raise NotFoundError(f"order {command.client_order_id} is not open")
        await self._venue.cancel_order(order)

    async def cancel_all(self) -> int:
        """Cancel every open order of this book; returns how many were asked to cancel."""
        orders = list(self._open.values())
        for order in orders:
            await self._venue.cancel_order(order)
        return len(orders)

    async def reconcile(self, audit: AuditLog | None = None) -> ReconciliationCompleted:
        """Compare every open order of this book with the venue and repair the records.

        Call it on start (before trading) and periodically; it is idempotent.
        """
        venue = self._venue
        if not isinstance(venue, Reconcilable):
            raise ConfigurationError(f"venue {venue.name} cannot be reconciled")
        findings = Findings()
        for order in open_orders(self._store, venue.name, self._portfolio.bot_id):
            findings.checked += 1
            before = order.status
            state = await venue.fetch_order_state(order)
            if state is None:
                order = settle_unknown(order, self._clock)
                findings.unknown.append(order.client_order_id)
            else:
                order = await self._catch_up(order, state, venue, findings)
            self._store.update(order)
            self._track(order)
            if order.status is not before:
                findings.changes.append((order.client_order_id, before.value, order.status.value))
                self._bus.publish(OrderUpdated(self._clock.now(), order))
        if findings.fills:
            self.publish_portfolio()
        event = report(findings, venue.name, self._portfolio.bot_id, self._clock, audit)
        self._bus.publish(event)
        return event

    async def reconcile_every(self, seconds: float, audit: AuditLog | None = None) -> None:
        """Reconcile forever, every ``seconds`` (run it as a task; cancel it to stop).

        A failed round (venue unreachable) is logged and retried next time: the records
        stay as they are until the venue can be asked.
        """
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.reconcile(audit)
            except TaskStationError as exc:
                log.warning("reconciliation with %s failed, will retry: %s", self._venue.name, exc)

    async def _catch_up(
        self, order: Order, state: VenueOrderState, venue: Reconcilable, findings: Findings
    ) -> Order:
        now = self._clock.now()
        if order.status is OrderStatus.INITIALIZED:
            order = order.submit(now)
        if order.status is OrderStatus.SUBMITTED and state.status is not OrderStatus.REJECTED:
            order = order.accept(state.venue_order_id, now)
        known = {f.trade_id for f in order.fills}
        missing = [f for f in await venue.fetch_fills(order) if f.trade_id not in known]
        for n, fill in enumerate(missing, start=1):
            last = n == len(missing)
            order = order.fill(fill, complete=last and state.status is OrderStatus.FILLED)
            self._store.record_fill(order, fill)
            self._portfolio.apply_fill(fill, self._venue.instrument(fill.symbol))
            self._bus.publish(OrderFilled(fill.ts, order, fill))
            findings.fills.append(fill.trade_id)
        return adopt_final_state(order, state, self._clock)

    def _track(self, order: Order) -> None:
        if order.status.is_terminal:
            self._open.pop(order.client_order_id, None)
        else:
            self._open[order.client_order_id] = order

    def on_venue_report(self, report: VenueReport) -> None:
        """Apply a venue's report to the order it names (called by the venue)."""
        cid = (
            report.fill.client_order_id
            if isinstance(report, FillReport)
            else report.client_order_id
        )
        order = self._open.get(cid)
        if order is None:
            log.info("report for unknown or closed order %s ignored: %r", cid, report)
            return
        if _is_duplicate(order, report):
            # Venues repeat themselves (reconnects, polling after a stream): applying a
            # report twice must change nothing.
            log.debug("duplicate report for %s ignored: %r", cid, report)
            return
        try:
            self._apply(order, report)
        except InvalidOrderTransition as exc:  # out-of-order news: reconciliation settles it
            log.warning("report for %s does not fit its state: %s", cid, exc)

    def _apply(self, order: Order, report: VenueReport) -> None:
        if isinstance(report, OrderAcceptedReport):
            self._transition(order.accept(report.venue_order_id, report.ts))
        elif isinstance(report, OrderRejectedReport):
            self._transition(order.reject(report.reason, report.ts))
        elif isinstance(report, OrderTriggeredReport):
            self._transition(order.trigger(report.ts))
        elif isinstance(report, OrderCanceledReport):
            self._transition(order.cancel(report.ts, report.reason))
        else:
            self._apply_fill(order, report)

    # -- internals -------------------------------------------------------------

    def _pre_trade_check(self, order: Order) -> str | None:
        try:
            instrument = self._venue.instrument(order.symbol)
            if order.quantity is not None:
                instrument.check_order(order.quantity, order.price)
            if order.side is OrderSide.SELL and order.quantity is not None:
                held = self._portfolio.balance(instrument.base).free
                if order.quantity > held:
                    raise InsufficientFunds(
                        f"cannot sell {order.quantity} {instrument.base}: only {held} held"
                    )
            if order.quote_quantity is not None:
                free = self._portfolio.balance(instrument.quote).free
                if order.quote_quantity > free:
                    raise InsufficientFunds(
                        f"cannot spend {order.quote_quantity} {instrument.quote}: only {free} free"
                    )
        except (ValidationError, InsufficientFunds) as exc:
            return str(exc)
        if self._guard is not None and (refused := self._guard(order)) is not None:
            return refused
        if self.risk is not None:
            return self.risk.check(order, self._portfolio, self.open_orders, self._clock.now())
        return None

    def _transition(self, order: Order) -> None:
        self._store.update(order)
        self._track(order)
        if self._bus.wants(OrderUpdated):
            self._bus.publish(OrderUpdated(self._clock.now(), order))

    def _apply_fill(self, order: Order, report: FillReport) -> None:
        fill = report.fill
        updated = order.fill(fill, complete=report.order_complete)
        self._store.record_fill(updated, fill)
        self._track(updated)
        instrument = self._venue.instrument(fill.symbol)
        self._portfolio.apply_fill(fill, instrument)
        if self._bus.wants(OrderFilled):
            self._bus.publish(OrderFilled(fill.ts, updated, fill))
        self.publish_portfolio()

    def publish_portfolio(self, *, persist: bool = True) -> None:
        """Tell the faces the book changed; store it when ``persist`` (always after a fill).

        Mark-to-market updates come every bar; writing each to disk would make the
        database the bottleneck, so callers throttle them (see ``MARK_PERSIST_SECONDS``).
        """
        now = self._clock.now()
        if self._portfolio_store is not None and persist:
            self._portfolio_store.save(self._portfolio.snapshot(), now)
            self._last_persist = time.monotonic()
        if not self._bus.wants(PortfolioChanged):
            return
        value = self._portfolio.valuation()
        self._bus.publish(
            PortfolioChanged(
                now,
                self._portfolio.bot_id,
                value.equity,
                value.cash,
                value.realized_pnl,
                value.unrealized_pnl,
            )
        )

    def publish_marks(self) -> None:
        """Publish a new valuation; persist it at most every ``MARK_PERSIST_SECONDS``."""
        due = time.monotonic() - self._last_persist >= MARK_PERSIST_SECONDS
        self.publish_portfolio(persist=due)

    def _stored(self, order: Order) -> Order:
        return self._store.get(order.client_order_id) or order


def _is_duplicate(order: Order, report: VenueReport) -> bool:
    """True when ``order`` already reflects ``report``."""
    if isinstance(report, FillReport):
        return any(f.trade_id == report.fill.trade_id for f in order.fills)
    if isinstance(report, OrderAcceptedReport):
        return order.status is not OrderStatus.SUBMITTED
    if isinstance(report, OrderTriggeredReport):
        return order.status is not OrderStatus.ACCEPTED
    return False
