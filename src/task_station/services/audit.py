"""The audit trail as the faces see it: search it (admins) and verify its hash chain.

Writing is not here: every service appends through the ``AuditLog`` port as it acts.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from task_station.domain.audit import AuditEvent, AuditQuery, ChainReport, Face
from task_station.domain.errors import ValidationError
from task_station.services.principal import Principal

#: The most events one search returns.
MAX_PAGE = 1000
FACES = tuple(face.value for face in Face)


class AuditTrail(Protocol):
    """What the service reads (``persistence.audit.SqlAuditLog``)."""

    def search(
        self, query: AuditQuery, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[AuditEvent]: ...

    def count(self, query: AuditQuery) -> int: ...
    def verify(self) -> ChainReport: ...


class AuditService:
    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail

    def search(
        self, actor: Principal, query: AuditQuery, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[AuditEvent]:
        """Events matching ``query`` (see ``filters``), newest first (admins only)."""
        actor.require_admin("read the audit trail")
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise ValidationError(f"limit must be 1 to {MAX_PAGE} and offset at least 0")
        return self._trail.search(query, limit=limit, offset=offset)

    def count(self, actor: Principal, query: AuditQuery) -> int:
        actor.require_admin("read the audit trail")
        return self._trail.count(query)

    def verify(self, actor: Principal) -> ChainReport:
        """Check every event's hash and link; the report names the first bad event."""
        actor.require_admin("verify the audit trail")
        return self._trail.verify()

    @staticmethod
    def filters(
        *,
        user: str | None = None,
        action: str | None = None,
        face: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AuditQuery:
        """A checked query: who acted, an action or its prefix, the face, a time range."""
        if face and face not in FACES:
            raise ValidationError(f"unknown face {face!r}; use one of {', '.join(FACES)}")
        for name, when in (("since", since), ("until", until)):
            if when is not None and when.tzinfo is None:
                raise ValidationError(f"{name} needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        if since is not None and until is not None and until <= since:
            raise ValidationError("until must be later than since")
        return AuditQuery(
            actor=(user or "").strip().lower() or None,
            action=(action or "").strip() or None,
            face=face or None,
            since=since,
            until=until,
        )
