"""Reconciliation: make local orders agree with the venue, never the other way round.

After a crash or a disconnect the station's records may lag the venue: an order sent
but never acknowledged, fills that happened while nobody listened. For every order the
store still holds open, the venue is asked by client order id; missing fills are
recorded (and applied to the book), final states are adopted, and orders the venue
never saw are marked so. The outcome is one ``ReconciliationCompleted`` event, also
written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from task_station.domain.clock import Clock
from task_station.domain.events import ReconciliationCompleted
from task_station.domain.orders import Order, OrderStatus
from task_station.domain.ports import AuditLog, OrderStore
from task_station.venues.base import VenueOrderState

OPEN_STATUSES = (
    OrderStatus.INITIALIZED,
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.TRIGGERED,
    OrderStatus.PARTIALLY_FILLED,
)


@dataclass
class Findings:
    checked: int = 0
    fills: list[str] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def open_orders(store: OrderStore, venue: str, bot_id: str | None) -> list[Order]:
    """Orders of this book on ``venue`` that are not final, oldest first."""
    found = store.list(bot_id=bot_id, statuses=OPEN_STATUSES, limit=100_000)
    return [o for o in reversed(found) if o.venue == venue]


def settle_unknown(order: Order, clock: Clock) -> Order:
    """The venue never saw ``order``: close it with a reason that says so."""
    now = clock.now()
    if order.status is OrderStatus.INITIALIZED:
        return order.deny("never sent: the station stopped before sending it", now)
    if order.status is OrderStatus.SUBMITTED:
        return order.reject("reconciliation: the venue has no record of this order", now)
    return order.cancel(now, "reconciliation: the venue no longer knows this order")


def adopt_final_state(order: Order, state: VenueOrderState, clock: Clock) -> Order:
    """Move ``order`` to the venue's terminal state when fills alone did not."""
    now = clock.now()
    if order.status.is_terminal or state.status is order.status:
        return order
    if state.status is OrderStatus.CANCELED:
        return order.cancel(now, "reconciliation: canceled at the venue")
    if state.status is OrderStatus.EXPIRED:
        return order.expire(now)
    if state.status is OrderStatus.REJECTED and order.status is OrderStatus.SUBMITTED:
        return order.reject("reconciliation: rejected by the venue", now)
    if state.status is OrderStatus.TRIGGERED and order.status is OrderStatus.ACCEPTED:
        return order.trigger(now)
    return order


def report(
    findings: Findings, venue: str, bot_id: str | None, clock: Clock, audit: AuditLog | None
) -> ReconciliationCompleted:
    event = ReconciliationCompleted(
        clock.now(),
        venue,
        bot_id,
        findings.checked,
        tuple(findings.fills),
        tuple(findings.changes),
        tuple(findings.unknown),
    )
    if audit is not None:
        audit.record(
            event.ts,
            "system",
            "orders.reconcile",
            f"{venue}/{bot_id or 'account'}",
            f"checked={event.checked} fills_recorded={len(event.fills_recorded)} "
            f"status_changes={len(event.status_changes)} unknown={len(event.unknown_to_venue)}",
        )
    return event
