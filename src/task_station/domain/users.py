"""Users and roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    TRADER = "trader"
    VIEWER = "viewer"

    def can_trade(self) -> bool:
        return self in (Role.ADMIN, Role.TRADER)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    role: Role
    created_at: datetime
    password_hash: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One link of a login session's refresh chain.

    A login opens a *family*; each refresh rotates it: the presented link is marked
    ``rotated_at`` and a new link (new id, new refresh token) joins the same family. A
    rotated link presented again means its refresh token was stolen or replayed, and the
    whole family is revoked. Only a hash of the refresh token is ever stored.
    """

    id: str
    family_id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    rotated_at: datetime | None = None
    refresh_hash: str | None = None
    client: str | None = None

    def usable(self, now: datetime) -> bool:
        """Not revoked and not expired (a rotated link still backs its access tokens)."""
        return self.revoked_at is None and now < self.expires_at
