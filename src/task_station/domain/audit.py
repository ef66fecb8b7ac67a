"""The audit trail's rules: faces, the hash chain and its verification.

Every audit event stores the hash of the event before it (``prev_hash``) and its own
SHA-256 over a canonical serialization of its fields *including* its id and that
previous hash. Changing a stored event changes its hash; removing one breaks the link
of the next; moving events around breaks both. ``verify_chain`` walks the events in id
order and names the first one that does not fit.

The face an action came through (GUI, API, CLI, automation) is a context variable: each
face sets it once where its requests enter (the API's middleware, the CLI's ``main``,
the GUI's session), and the audit log reads it, so no service signature carries it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

#: The ``prev_hash`` of the very first event.
GENESIS_HASH = "0" * 64


class Face(StrEnum):
    """Where an action came from."""

    GUI = "gui"
    API = "api"
    CLI = "cli"
    AUTOMATION = "automation"
    SYSTEM = "system"  # the station itself: restarts, risk pauses, reconciliation


_FACE: ContextVar[Face] = ContextVar("task_station_face", default=Face.SYSTEM)


def current_face() -> Face:
    """The face the running code acts for (``system`` when none said)."""
    return _FACE.get()


def set_face(face: Face) -> Token[Face]:
    """Act for ``face`` in this context from now on; returns the token to reset it."""
    return _FACE.set(face)


def reset_face(token: Token[Face]) -> None:
    _FACE.reset(token)


@contextlib.contextmanager
def acting_through(face: Face) -> Iterator[None]:
    """Act for ``face`` inside the ``with`` block (and in tasks created inside it)."""
    token = _FACE.set(face)
    try:
        yield
    finally:
        _FACE.reset(token)


def encode_state(state: Mapping[str, Any] | None) -> str | None:
    """A before/after snapshot as canonical JSON text (sorted keys, no spaces)."""
    if state is None:
        return None
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_ts(ts: datetime) -> str:
    """The timestamp as hashed: UTC, microseconds, ISO 8601 (naive means UTC)."""
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit event as stored: who did what, when, through which face, with the
    state before and after (canonical JSON text, or ``None``) and its chain hashes."""

    id: int
    ts: datetime
    actor: str | None
    action: str
    subject: str
    detail: str
    face: str
    before: str | None
    after: str | None
    prev_hash: str
    hash: str


def canonical_bytes(
    *,
    id: int,
    ts: datetime,
    actor: str | None,
    action: str,
    subject: str,
    detail: str,
    face: str,
    before: str | None,
    after: str | None,
    prev_hash: str,
) -> bytes:
    """The exact bytes an event's hash covers (version 1 of the format)."""
    document = {
        "v": 1,
        "id": id,
        "ts": canonical_ts(ts),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
        "face": face,
        "before": before,
        "after": after,
        "prev": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(**fields: Any) -> str:
    """SHA-256 (hex) of ``canonical_bytes(**fields)``."""
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()


def hash_of(event: AuditEvent) -> str:
    """What ``event.hash`` must be, recomputed from its other fields."""
    return event_hash(
        id=event.id, ts=event.ts, actor=event.actor, action=event.action,
        subject=event.subject, detail=event.detail, face=event.face,
        before=event.before, after=event.after, prev_hash=event.prev_hash,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of an audit search; ``None`` means any. ``action`` matches a prefix
    (``bot.`` finds every bot action); ``since`` is inclusive, ``until`` exclusive."""

    actor: str | None = None
    action: str | None = None
    face: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first event that does not fit the chain, and why."""

    event_id: int
    position: int  # 1-based, in id order
    reason: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of a verification: ``ok`` when ``first_break`` is ``None``."""

    checked: int
    last_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def describe(self) -> str:
        if self.first_break is None:
            return f"audit trail intact: {self.checked} event(s), last hash {self.last_hash[:16]}"
        b = self.first_break
        return f"audit trail BROKEN at event {b.event_id} (#{b.position}): {b.reason}"


def verify_chain(events: Iterable[AuditEvent]) -> ChainReport:
    """Check ``events`` (in id order) link up and hash correctly; stop at the first
    one that does not."""
    previous_hash, previous_id, checked = GENESIS_HASH, None, 0
    for position, event in enumerate(events, start=1):
        reason = _misfit(event, previous_hash, previous_id)
        if reason is not None:
            return ChainReport(checked, previous_hash, ChainBreak(event.id, position, reason))
        previous_hash, previous_id, checked = event.hash, event.id, position
    return ChainReport(checked, previous_hash, None)


def _misfit(event: AuditEvent, previous_hash: str, previous_id: int | None) -> str | None:
    if previous_id is not None and event.id <= previous_id:
        return f"it comes after event {previous_id} but has a smaller id: rows were reordered"
    if event.prev_hash != previous_hash:
        where = "the start" if previous_id is None else f"event {previous_id}"
        return (
            f"its previous-hash does not match {where}: an event before it was removed, "
            "inserted or reordered"
        )
    if hash_of(event) != event.hash:
        return "its content does not match its hash: the row was changed"
    return None
