"""``OrderStore`` on SQL: orders with their fills, written atomically.

An order row holds the latest state; fills are rows of their own, keyed per order by the
venue's trade id so that replaying a fill (reconnect, reconciliation) changes nothing.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from task_station.domain.errors import ConflictError, NotFoundError, ValidationError
from task_station.domain.orders import Fill, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import FillRow, OrderRow


def _write_state(row: OrderRow, order: Order) -> None:
    """Copy every mutable field of ``order`` onto ``row``."""
    row.status = order.status.value
    row.filled_quantity = order.filled_quantity
    row.filled_notional = order.filled_notional
    row.fees = order.fees
    row.venue_order_id = order.venue_order_id
    row.reason = order.reason
    row.updated_at = order.updated_at


def _new_row(order: Order) -> OrderRow:
    row = OrderRow(
        client_order_id=order.client_order_id,
        venue=order.venue,
        symbol=order.symbol,
        side=order.side.value,
        type=order.type.value,
        created_at=order.created_at,
        quantity=order.quantity,
        quote_quantity=order.quote_quantity,
        price=order.price,
        bot_id=order.bot_id,
        trigger_price=order.trigger_price,
        time_in_force=order.time_in_force.value,
        post_only=order.post_only,
        reduce_only=order.reduce_only,
        tag=order.tag,
    )
    _write_state(row, order)
    return row


def _fill_row(order_id: int, fill: Fill) -> FillRow:
    return FillRow(
        order_id=order_id,
        trade_id=fill.trade_id,
        symbol=fill.symbol,
        side=fill.side.value,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        liquidity=fill.liquidity,
        ts=fill.ts,
        bot_id=fill.bot_id,
    )


def _to_fill(row: FillRow, client_order_id: str) -> Fill:
    return Fill(
        trade_id=row.trade_id,
        client_order_id=client_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        price=row.price,
        quantity=row.quantity,
        fee=row.fee,
        fee_currency=row.fee_currency,
        liquidity=row.liquidity,
        ts=row.ts,
        bot_id=row.bot_id,
    )


def _to_order(row: OrderRow, fills: Iterable[FillRow]) -> Order:
    return Order(
        client_order_id=row.client_order_id,
        venue=row.venue,
        symbol=row.symbol,
        side=OrderSide(row.side),
        type=OrderType(row.type),
        created_at=row.created_at,
        quantity=row.quantity,
        quote_quantity=row.quote_quantity,
        price=row.price,
        bot_id=row.bot_id,
        trigger_price=row.trigger_price,
        time_in_force=TimeInForce(row.time_in_force),
        post_only=row.post_only,
        reduce_only=row.reduce_only,
        status=OrderStatus(row.status),
        filled_quantity=row.filled_quantity,
        filled_notional=row.filled_notional,
        fees=row.fees,
        venue_order_id=row.venue_order_id,
        reason=row.reason,
        updated_at=row.updated_at,
        tag=row.tag,
        fills=tuple(_to_fill(f, row.client_order_id) for f in fills),
    )


def _find(session: Session, client_order_id: str) -> OrderRow | None:
    query = select(OrderRow).where(OrderRow.client_order_id == client_order_id)
    return session.scalars(query).one_or_none()


def _stored_trade_ids(session: Session, order_id: int) -> set[str]:
    return set(session.scalars(select(FillRow.trade_id).where(FillRow.order_id == order_id)))


def _add_missing_fills(session: Session, row: OrderRow, fills: Iterable[Fill]) -> None:
    """Store the fills of ``fills`` not stored yet, so ``get`` returns what was saved."""
    known = _stored_trade_ids(session, row.id)
    for fill in fills:
        if fill.client_order_id != row.client_order_id:
            raise ValidationError(
                f"fill {fill.trade_id} belongs to {fill.client_order_id}, "
                f"not to order {row.client_order_id}"
            )
        if fill.trade_id not in known:
            session.add(_fill_row(row.id, fill))
            known.add(fill.trade_id)


def _fills_by_order(session: Session, order_ids: Sequence[int]) -> dict[int, list[FillRow]]:
    grouped: dict[int, list[FillRow]] = defaultdict(list)
    if order_ids:
        query = (
            select(FillRow).where(FillRow.order_id.in_(order_ids)).order_by(FillRow.ts, FillRow.id)
        )
        for fill in session.scalars(query):
            grouped[fill.order_id].append(fill)
    return grouped


class SqlOrderStore:
    """Implements ``domain.ports.OrderStore``."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def add(self, order: Order) -> None:
        record = f"order {order.client_order_id}"
        with translated(record, conflict=f"{record} already exists"), self._sessions.begin() as s:
            row = _new_row(order)
            s.add(row)
            s.flush()
            _add_missing_fills(s, row, order.fills)

    def update(self, order: Order) -> None:
        with translated(f"order {order.client_order_id}"), self._sessions.begin() as s:
            row = self._require(s, order.client_order_id)
            _write_state(row, order)
            _add_missing_fills(s, row, order.fills)

    def record_fill(self, order: Order, fill: Fill) -> None:
        try:
            self._record_fill(order, fill)
        except ConflictError:
            # Another writer stored the same trade between our check and our insert.
            if not self._has_fill(order.client_order_id, fill.trade_id):
                raise

    def get(self, client_order_id: str) -> Order | None:
        with self._sessions.begin() as s:
            row = _find(s, client_order_id)
            if row is None:
                return None
            return _to_order(row, _fills_by_order(s, [row.id])[row.id])

    def list(
        self,
        *,
        bot_id: str | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        limit: int = 500,
    ) -> builtins.list[Order]:
        if statuses is not None and not statuses:
            return []
        query = select(OrderRow).order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
        if bot_id is not None:
            query = query.where(OrderRow.bot_id == bot_id)
        if statuses is not None:
            query = query.where(OrderRow.status.in_([OrderStatus(s).value for s in statuses]))
        with self._sessions.begin() as s:
            rows = s.scalars(query.limit(limit)).all()
            fills = _fills_by_order(s, [r.id for r in rows])
            return [_to_order(r, fills[r.id]) for r in rows]

    def list_fills(self, *, bot_id: str | None = None, limit: int = 5000) -> builtins.list[Fill]:
        query = (
            select(FillRow, OrderRow.client_order_id)
            .join(OrderRow, FillRow.order_id == OrderRow.id)
            .order_by(FillRow.ts, FillRow.id)
            .limit(limit)
        )
        if bot_id is not None:
            query = query.where(FillRow.bot_id == bot_id)
        with self._sessions.begin() as s:
            return [_to_fill(fill, coid) for fill, coid in s.execute(query)]

    def _record_fill(self, order: Order, fill: Fill) -> None:
        record = f"fill {fill.trade_id} of order {order.client_order_id}"
        with translated(record, conflict=f"{record} already exists"), self._sessions.begin() as s:
            row = self._require(s, order.client_order_id)
            if fill.trade_id in _stored_trade_ids(s, row.id):
                return  # already recorded: replaying a fill changes nothing
            _write_state(row, order)
            _add_missing_fills(s, row, (*order.fills, fill))

    def _has_fill(self, client_order_id: str, trade_id: str) -> bool:
        query = (
            select(FillRow.id)
            .join(OrderRow, FillRow.order_id == OrderRow.id)
            .where(OrderRow.client_order_id == client_order_id, FillRow.trade_id == trade_id)
        )
        with self._sessions.begin() as s:
            return s.scalars(query).first() is not None

    @staticmethod
    def _require(session: Session, client_order_id: str) -> OrderRow:
        row = _find(session, client_order_id)
        if row is None:
            raise NotFoundError(f"order {client_order_id} does not exist")
        return row
