"""``PortfolioStore`` on SQL: one book per bot plus the account's own book.

A save replaces the whole book (balances, positions, marks) in one transaction. The
account book (``bot_id is None``) is stored under the key ``ACCOUNT_BOOK`` so a plain
unique constraint covers it on every backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from task_station.domain.balances import Balance
from task_station.domain.errors import ValidationError
from task_station.domain.ports import PortfolioSnapshot
from task_station.domain.positions import Position
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import (
    ACCOUNT_BOOK,
    BalanceRow,
    MarkRow,
    PortfolioBookRow,
    PositionRow,
)


def book_key(bot_id: str | None) -> str:
    if bot_id == ACCOUNT_BOOK:
        raise ValidationError("a bot id cannot be empty")
    return ACCOUNT_BOOK if bot_id is None else bot_id


def _reject_duplicates(kind: str, keys: Iterable[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValidationError(f"portfolio snapshot lists the {kind} {key} twice")
        seen.add(key)


def _upsert_book(session: Session, key: str, when: datetime) -> None:
    """Create or touch the book row; on PostgreSQL this also serialises concurrent saves."""
    insert: Any = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(PortfolioBookRow).values(book=key, saved_at=when)
    statement = statement.on_conflict_do_update(
        index_elements=["book"], set_={"saved_at": statement.excluded.saved_at}
    )
    session.execute(statement)


def _rows(key: str, snapshot: PortfolioSnapshot) -> list[BalanceRow | PositionRow | MarkRow]:
    balances = [
        BalanceRow(book=key, asset=b.asset, total=b.total, locked=b.locked)
        for b in snapshot.balances
    ]
    positions = [
        PositionRow(
            book=key,
            symbol=p.symbol,
            quantity=p.quantity,
            cost=p.cost,
            realized_pnl=p.realized_pnl,
            fees_paid=p.fees_paid,
        )
        for p in snapshot.positions
    ]
    marks = [MarkRow(book=key, symbol=symbol, price=price) for symbol, price in snapshot.marks]
    return [*balances, *positions, *marks]


class SqlPortfolioStore:
    """Implements ``domain.ports.PortfolioStore``. Rows come back in the saved order."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def save(self, snapshot: PortfolioSnapshot, when: datetime) -> None:
        key = book_key(snapshot.bot_id)
        _reject_duplicates("asset", (b.asset for b in snapshot.balances))
        _reject_duplicates("position", (p.symbol for p in snapshot.positions))
        _reject_duplicates("mark", (symbol for symbol, _ in snapshot.marks))
        record = f"portfolio of {'the account' if snapshot.bot_id is None else snapshot.bot_id}"
        with translated(record), self._sessions.begin() as s:
            _upsert_book(s, key, when)
            for table in (BalanceRow, PositionRow, MarkRow):
                s.execute(delete(table).where(table.book == key))
            s.add_all(_rows(key, snapshot))

    def load(self, bot_id: str | None) -> PortfolioSnapshot | None:
        key = book_key(bot_id)
        with self._sessions.begin() as s:
            if s.get(PortfolioBookRow, key) is None:
                return None
            balances = s.scalars(
                select(BalanceRow).where(BalanceRow.book == key).order_by(BalanceRow.id)
            )
            positions = s.scalars(
                select(PositionRow).where(PositionRow.book == key).order_by(PositionRow.id)
            )
            marks = s.scalars(select(MarkRow).where(MarkRow.book == key).order_by(MarkRow.id))
            return PortfolioSnapshot(
                bot_id=bot_id,
                balances=tuple(Balance(b.asset, b.total, b.locked) for b in balances),
                positions=tuple(
                    Position(p.symbol, p.quantity, p.cost, p.realized_pnl, p.fees_paid, bot_id)
                    for p in positions
                ),
                marks=tuple((m.symbol, m.price) for m in marks),
            )
