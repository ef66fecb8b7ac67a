"""``UserStore`` and ``SessionStore`` on SQL.

Usernames are case-insensitive: they are stored lower-case, so ``Alice`` and ``alice``
collide on the unique constraint on every backend without collation tricks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from task_station.domain.errors import ConflictError, NotFoundError
from task_station.domain.users import Role, User
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


class SqlSessionStore:
    """Implements ``domain.ports.SessionStore``. Revoking is idempotent and keeps the
    first revocation time; revoking an unknown session is a no-op (logout twice)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def open(
        self, session_id: str, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None:
        record = "session"  # the id is a bearer secret: never put it in a message
        with translated(record, conflict="session already exists"), self._sessions.begin() as s:
            if s.get(UserRow, user_id) is None:
                raise NotFoundError(f"user {user_id} does not exist")
            s.add(
                SessionRow(
                    id=session_id, user_id=user_id, created_at=created_at, expires_at=expires_at
                )
            )

    def is_active(self, session_id: str, now: datetime) -> bool:
        with self._sessions.begin() as s:
            row = s.get(SessionRow, session_id)
            return row is not None and row.revoked_at is None and now < row.expires_at

    def revoke(self, session_id: str, when: datetime) -> None:
        statement = (
            update(SessionRow)
            .where(SessionRow.id == session_id, SessionRow.revoked_at.is_(None))
            .values(revoked_at=when)
        )
        with translated("session"), self._sessions.begin() as s:
            s.execute(statement)
