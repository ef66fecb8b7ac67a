"""The in-app notification feed and the notification channels, on SQL.

Channels are stored without their secrets: a channel's row holds its non-secret
settings and the name of its vault entry (``secret_ref``), never a password, token or
webhook URL.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from task_station.domain.notifications import (
    ChannelConfig,
    ChannelType,
    Notification,
    Route,
    Severity,
)
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.database import Database
from task_station.persistence.models import NotificationChannelRow, NotificationRow


def _to_notification(row: NotificationRow) -> Notification:
    return Notification(
        id=row.id,
        ts=row.ts,
        kind=row.kind,
        severity=Severity(row.severity),
        title=row.title,
        body=row.body,
        data=dict(row.data or {}),
        read_at=row.read_at,
    )


def _to_channel(row: NotificationChannelRow) -> ChannelConfig:
    return ChannelConfig(
        name=row.name,
        type=ChannelType(row.type),
        enabled=row.enabled,
        route=Route(tuple(row.kinds or ()), Severity(row.min_severity)),
        settings=dict(row.settings or {}),
        rate_per_minute=row.rate_per_minute,
        burst=row.burst,
        secret_ref=row.secret_ref,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlNotificationStore:
    """Notifications and channels; each method is its own transaction."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @classmethod
    def on(cls, database: Database) -> SqlNotificationStore:
        return cls(sessionmaker(database.engine, expire_on_commit=False))

    # -- the feed -----------------------------------------------------------------------

    def add(self, notification: Notification) -> None:
        row = NotificationRow(
            id=notification.id,
            ts=notification.ts,
            kind=notification.kind,
            severity=int(notification.severity),
            title=notification.title,
            body=notification.body,
            data=dict(notification.data),
            read_at=notification.read_at,
        )
        with translated(f"notification {notification.id}"), self._sessions.begin() as s:
            s.add(row)

    def get(self, notification_id: str) -> Notification | None:
        with self._sessions.begin() as s:
            row = s.get(NotificationRow, notification_id)
            return None if row is None else _to_notification(row)

    def list(self, *, limit: int = 50, unread_only: bool = False) -> builtins.list[Notification]:
        """Newest first."""
        query = select(NotificationRow)
        if unread_only:
            query = query.where(NotificationRow.read_at.is_(None))
        query = query.order_by(NotificationRow.ts.desc(), NotificationRow.id.desc()).limit(limit)
        with self._sessions.begin() as s:
            return [_to_notification(row) for row in s.scalars(query)]

    def unread_count(self) -> int:
        query = select(func.count()).select_from(NotificationRow)
        with self._sessions.begin() as s:
            return int(s.scalar(query.where(NotificationRow.read_at.is_(None))) or 0)

    def mark_read(self, ids: Sequence[str] | None, when: datetime) -> int:
        """Mark ``ids`` (None: every unread one) read; returns how many changed."""
        query = update(NotificationRow).where(NotificationRow.read_at.is_(None))
        if ids is not None:
            query = query.where(NotificationRow.id.in_(list(ids)))
        with self._sessions.begin() as s:
            result = s.execute(query.values(read_at=when))
            return int(result.rowcount)  # type: ignore[attr-defined]

    # -- channels -----------------------------------------------------------------------

    def channels(self) -> builtins.list[ChannelConfig]:
        query = select(NotificationChannelRow).order_by(NotificationChannelRow.name)
        with self._sessions.begin() as s:
            return [_to_channel(row) for row in s.scalars(query)]

    def channel(self, name: str) -> ChannelConfig | None:
        with self._sessions.begin() as s:
            row = s.get(NotificationChannelRow, name)
            return None if row is None else _to_channel(row)

    def save_channel(self, channel: ChannelConfig, when: datetime) -> ChannelConfig:
        """Create or replace the channel named ``channel.name``."""
        with translated(f"notification channel {channel.name}"), self._sessions.begin() as s:
            row = s.get(NotificationChannelRow, channel.name)
            if row is None:
                row = NotificationChannelRow(name=channel.name, created_at=when)
                s.add(row)
            row.type = channel.type.value
            row.enabled = channel.enabled
            row.kinds = list(channel.route.kinds)
            row.min_severity = int(channel.route.min_severity)
            row.settings = dict(channel.settings)
            row.rate_per_minute = channel.rate_per_minute
            row.burst = channel.burst
            row.secret_ref = channel.secret_ref
            row.updated_at = when
            s.flush()
            return _to_channel(row)

    def delete_channel(self, name: str) -> bool:
        with self._sessions.begin() as s:
            row = s.get(NotificationChannelRow, name)
            if row is None:
                return False
            s.delete(row)
            return True
