"""``AuditLog`` on SQL, plus a reader for the audit view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import AuditEventRow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit event as read back."""

    id: int
    ts: datetime
    actor: str | None
    action: str
    subject: str
    detail: str


class SqlAuditLog:
    """Implements ``domain.ports.AuditLog``. Entries are append-only."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def record(
        self, when: datetime, actor: str | None, action: str, subject: str, detail: str = ""
    ) -> None:
        row = AuditEventRow(ts=when, actor=actor, action=action, subject=subject, detail=detail)
        with translated(f"audit event {action}"), self._sessions.begin() as s:
            s.add(row)

    def list_recent(self, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        query = (
            select(AuditEventRow)
            .order_by(AuditEventRow.ts.desc(), AuditEventRow.id.desc())
            .limit(limit)
        )
        with self._sessions.begin() as s:
            return [
                AuditEntry(r.id, r.ts, r.actor, r.action, r.subject, r.detail)
                for r in s.scalars(query)
            ]
