"""``UserStore`` and ``SessionStore`` on SQL.

Usernames are case-insensitive: they are stored lower-case, so ``Alice`` and ``alice``
collide on the unique constraint on every backend without collation tricks.
"""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update

from task_station.domain.errors import ConflictError, NotFoundError
from task_station.domain.users import Role, SessionRecord, User
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.models import SessionRow, UserRow


def normalize_username(username: str) -> str:
    return username.lower()


def _to_user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        created_at=row.created_at,
        password_hash=row.password_hash,
        active=row.active,
    )


class SqlUserStore:
    """Implements ``domain.ports.UserStore``."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def add(self, user: User) -> None:
        username = normalize_username(user.username)
        taken = f"username {username!r} is taken"
        with translated(f"user {username!r}", conflict=taken), self._sessions.begin() as s:
            if s.scalars(select(UserRow.id).where(UserRow.username == username)).first():
                raise ConflictError(taken)
            s.add(
                UserRow(
                    id=user.id,
                    username=username,
                    role=user.role.value,
                    password_hash=user.password_hash,
                    active=user.active,
                    created_at=user.created_at,
                )
            )

    def get_by_username(self, username: str) -> User | None:
        query = select(UserRow).where(UserRow.username == normalize_username(username))
        with self._sessions.begin() as s:
            row = s.scalars(query).one_or_none()
            return None if row is None else _to_user(row)

    def get(self, user_id: str) -> User | None:
        with self._sessions.begin() as s:
            row = s.get(UserRow, user_id)
            return None if row is None else _to_user(row)

    def count(self) -> int:
        with self._sessions.begin() as s:
            return int(s.scalar(select(func.count()).select_from(UserRow)) or 0)

    def list(self) -> builtins.list[User]:
        with self._sessions.begin() as s:
            return [_to_user(row) for row in s.scalars(select(UserRow).order_by(UserRow.username))]

    def update(self, user: User) -> None:
        with translated(f"user {user.username!r}"), self._sessions.begin() as s:
            row = s.get(UserRow, user.id)
            if row is None:
                raise NotFoundError(f"user {user.username!r} does not exist")
            row.role = user.role.value
            row.active = user.active
            row.password_hash = user.password_hash


class SqlSessionStore:
    """Implements ``domain.ports.SessionStore``. Revoking is idempotent and keeps the
    first revocation time; revoking an unknown session is a no-op (logout twice)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def open(
        self,
        session_id: str,
        user_id: str,
        created_at: datetime,
        expires_at: datetime,
        *,
        family_id: str | None = None,
        refresh_hash: str | None = None,
        client: str | None = None,
    ) -> None:
        record = SessionRecord(
            session_id, family_id or session_id, user_id, created_at, expires_at,
            refresh_hash=refresh_hash, client=client,
        )  # fmt: skip
        # The id is a bearer secret: never put it in a message.
        with translated("session", conflict="session already exists"), self._sessions.begin() as s:
            if s.get(UserRow, user_id) is None:
                raise NotFoundError(f"user {user_id} does not exist")
            s.add(_session_row(record))

    def is_active(self, session_id: str, now: datetime) -> bool:
        found = self.get(session_id)
        return found is not None and found.usable(now)

    def get(self, session_id: str) -> SessionRecord | None:
        with self._sessions.begin() as s:
            row = s.get(SessionRow, session_id)
            return None if row is None else _to_session(row)

    def get_with_user(self, session_id: str) -> tuple[SessionRecord, User] | None:
        """The link and its user in one query (every authenticated request asks)."""
        query = (
            select(SessionRow.__table__, UserRow.__table__)
            .join_from(SessionRow.__table__, UserRow.__table__)
            .where(SessionRow.__table__.c.id == session_id)
        )
        with self._sessions.begin() as s:
            row = s.execute(query).one_or_none()
        if row is None:
            return None
        sessions, users = SessionRow.__table__.c, UserRow.__table__.c
        values = row._mapping
        link = SessionRecord(
            id=values[sessions.id], family_id=values[sessions.family_id],
            user_id=values[sessions.user_id], created_at=values[sessions.created_at],
            expires_at=values[sessions.expires_at], revoked_at=values[sessions.revoked_at],
            rotated_at=values[sessions.rotated_at], refresh_hash=values[sessions.refresh_hash],
            client=values[sessions.client],
        )  # fmt: skip
        user = User(
            id=values[users.id], username=values[users.username], role=Role(values[users.role]),
            created_at=values[users.created_at], password_hash=values[users.password_hash],
            active=values[users.active],
        )  # fmt: skip
        return link, user

    def find_by_refresh(self, refresh_hash: str) -> SessionRecord | None:
        query = select(SessionRow).where(SessionRow.refresh_hash == refresh_hash)
        with self._sessions.begin() as s:
            row = s.scalars(query).one_or_none()
            return None if row is None else _to_session(row)

    def rotate(self, old_id: str, new: SessionRecord, when: datetime) -> bool:
        claim = (
            update(SessionRow)
            .where(
                SessionRow.id == old_id,
                SessionRow.rotated_at.is_(None),
                SessionRow.revoked_at.is_(None),
            )
            .values(rotated_at=when)
        )
        with translated("session", conflict="session already exists"), self._sessions.begin() as s:
            if _rowcount(s.execute(claim)) != 1:
                return False  # someone presented this link first: nothing changes
            s.add(_session_row(new))
        return True

    def revoke(self, session_id: str, when: datetime) -> None:
        self._revoke(SessionRow.id == session_id, when)

    def revoke_family(self, family_id: str, when: datetime) -> int:
        return self._revoke(SessionRow.family_id == family_id, when)

    def revoke_user(self, user_id: str, when: datetime, *, keep_family: str | None = None) -> int:
        condition = SessionRow.user_id == user_id
        if keep_family is not None:
            condition = and_(condition, SessionRow.family_id != keep_family)
        return self._revoke(condition, when)

    def families(self, user_id: str, now: datetime) -> builtins.list[SessionRecord]:
        query = (
            select(SessionRow)
            .where(
                SessionRow.user_id == user_id,
                SessionRow.revoked_at.is_(None),
                SessionRow.rotated_at.is_(None),
                SessionRow.expires_at > now,
            )
            .order_by(SessionRow.created_at.desc())
        )
        with self._sessions.begin() as s:
            return [_to_session(row) for row in s.scalars(query)]

    def _revoke(self, condition: ColumnElement[bool], when: datetime) -> int:
        statement = (
            update(SessionRow)
            .where(condition, SessionRow.revoked_at.is_(None))
            .values(revoked_at=when)
        )
        with translated("session"), self._sessions.begin() as s:
            return _rowcount(s.execute(statement))


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _session_row(record: SessionRecord) -> SessionRow:
    return SessionRow(
        id=record.id, family_id=record.family_id, user_id=record.user_id,
        created_at=record.created_at, expires_at=record.expires_at,
        revoked_at=record.revoked_at, rotated_at=record.rotated_at,
        refresh_hash=record.refresh_hash, client=record.client,
    )  # fmt: skip


def _to_session(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        id=row.id, family_id=row.family_id, user_id=row.user_id, created_at=row.created_at,
        expires_at=row.expires_at, revoked_at=row.revoked_at, rotated_at=row.rotated_at,
        refresh_hash=row.refresh_hash, client=row.client,
    )  # fmt: skip
