"""``AuditLog`` on SQL: an append-only, hash-chained trail, plus its readers.

Appending reads the newest event's hash and writes the new event in one transaction
that holds the table's write lock (SQLite's ``BEGIN IMMEDIATE``; an explicit lock on
PostgreSQL), so two writers, even in two processes, cannot chain onto the same event.
Text is redacted before it is stored: a secret that slipped into a detail is masked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from task_station.domain.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditQuery,
    ChainReport,
    current_face,
    encode_state,
    event_hash,
    verify_chain,
)
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import AuditEventRow
from task_station.redaction import redact

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit event as read back (the short form of ``AuditEvent``)."""

    id: int
    ts: datetime
    actor: str | None
    action: str
    subject: str
    detail: str


def _event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        id=row.id, ts=row.ts, actor=row.actor, action=row.action, subject=row.subject,
        detail=row.detail, face=row.face, before=row.before, after=row.after,
        prev_hash=row.prev_hash, hash=row.hash,
    )  # fmt: skip


def _masked(state: Mapping[str, object] | None) -> str | None:
    encoded = encode_state(state)
    return None if encoded is None else redact(encoded)


class SqlAuditLog:
    """Implements ``domain.ports.AuditLog``. Events are append-only."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()  # one writer at a time within the process

    def record(
        self,
        when: datetime,
        actor: str | None,
        action: str,
        subject: str,
        detail: str = "",
        *,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
    ) -> None:
        row = AuditEventRow(
            ts=when,
            actor=actor,
            action=action,
            subject=redact(subject),
            detail=redact(detail),
            face=current_face().value,
            before=_masked(before),
            after=_masked(after),
            prev_hash="",
            hash="",
        )
        with self._lock, translated(f"audit event {action}"), self._sessions.begin() as s:
            self._lock_table(s)
            row.prev_hash = s.scalar(_newest_hash()) or GENESIS_HASH
            row.hash = f"pending-{id(row)}"  # unique until the real one is known
            s.add(row)
            s.flush()  # assigns the id, which the hash covers
            row.hash = event_hash(
                id=row.id, ts=when, actor=row.actor, action=row.action, subject=row.subject,
                detail=row.detail, face=row.face, before=row.before, after=row.after,
                prev_hash=row.prev_hash,
            )  # fmt: skip

    @staticmethod
    def _lock_table(s: Session) -> None:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
        # SQLite: the session's BEGIN IMMEDIATE already holds the database's write lock.

    def list_recent(self, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        return [
            AuditEntry(e.id, e.ts, e.actor, e.action, e.subject, e.detail)
            for e in self.search(AuditQuery(), limit=limit)
        ]

    def search(self, query: AuditQuery, *, limit: int = 100, offset: int = 0) -> list[AuditEvent]:
        """Events matching ``query``, newest first."""
        statement = _filtered(select(AuditEventRow), query)
        statement = statement.order_by(AuditEventRow.id.desc()).limit(limit).offset(offset)
        with self._sessions.begin() as s:
            return [_event(row) for row in s.scalars(statement)]

    def count(self, query: AuditQuery) -> int:
        statement = _filtered(select(func.count()).select_from(AuditEventRow), query)
        with self._sessions.begin() as s:
            return int(s.scalar(statement) or 0)

    def events(self) -> Iterator[AuditEvent]:
        """Every event in chain (id) order, read in batches."""
        after_id: int | None = None  # ids are not trusted to start at 1: read them all
        while True:
            statement = select(AuditEventRow).order_by(AuditEventRow.id).limit(_BATCH)
            if after_id is not None:
                statement = statement.where(AuditEventRow.id > after_id)
            with self._sessions.begin() as s:
                batch = [_event(row) for row in s.scalars(statement)]
            yield from batch
            if len(batch) < _BATCH:
                return
            after_id = batch[-1].id

    def verify(self) -> ChainReport:
        """Walk the whole chain; the report names the first event that does not fit."""
        return verify_chain(self.events())


def _newest_hash() -> Select[Any]:
    return select(AuditEventRow.hash).order_by(AuditEventRow.id.desc()).limit(1)


def _filtered(statement: Select[Any], query: AuditQuery) -> Select[Any]:
    if query.actor:
        statement = statement.where(AuditEventRow.actor == query.actor)
    if query.action:
        escaped = query.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(AuditEventRow.action.like(f"{escaped}%", escape="\\"))
    if query.face:
        statement = statement.where(AuditEventRow.face == query.face)
    if query.since is not None:
        statement = statement.where(AuditEventRow.ts >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEventRow.ts < query.until)
    return statement
