"""Users and login."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from task_station.domain.clock import Clock
from task_station.domain.errors import AuthenticationError, ValidationError
from task_station.domain.ports import AuditLog, SessionStore, UserStore
from task_station.domain.users import Role, User
from task_station.security.passwords import hash_password, verify_password
from task_station.security.tokens import TokenClaims, TokenIssuer
from task_station.services.principal import Principal

_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")
# A real hash to compare against when the user does not exist, so a wrong username takes
# as long as a wrong password (no user enumeration by timing).
_DUMMY_HASH = "$2b$12$twIVoZ1TIe28/8v3Ztlt5O0kb3VnR4K4p4JKHAx5ll354U50/MMt6"


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    principal: Principal
    expires_at: datetime


class UserService:
    def __init__(self, users: UserStore, audit: AuditLog, clock: Clock, bcrypt_rounds: int) -> None:
        self._users = users
        self._audit = audit
        self._clock = clock
        self._rounds = bcrypt_rounds

    def needs_first_admin(self) -> bool:
        return self._users.count() == 0

    def create(
        self, username: str, password: str, role: Role | str, actor: Principal | None
    ) -> User:
        """Create a user. Without an actor this is only allowed for the very first admin."""
        name = username.strip().lower()
        if not name or len(name) > 64 or not set(name) <= _USERNAME_CHARS:
            raise ValidationError(
                "the username must be 1-64 characters of letters, digits, '_', '.' or '-'"
            )
        try:
            role = Role(role)
        except ValueError:
            raise ValidationError(f"unknown role {role!r}; use admin, trader or viewer") from None
        if actor is None:
            if not self.needs_first_admin():
                raise ValidationError("users already exist: log in as an admin to add more")
            if role is not Role.ADMIN:
                raise ValidationError("the first user must be an admin")
        else:
            actor.require_admin("create users")
        user = User(
            id=uuid.uuid4().hex,
            username=name,
            role=role,
            created_at=self._clock.now(),
            password_hash=hash_password(password, self._rounds),
        )
        self._users.add(user)
        self._audit.record(
            self._clock.now(), actor.username if actor else name, "user.create", name, role.value
        )
        return user


class AuthService:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        audit: AuditLog,
        clock: Clock,
        issuer: TokenIssuer,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._audit = audit
        self._clock = clock
        self._issuer = issuer

    def login(self, username: str, password: str) -> LoginResult:
        user = self._users.get_by_username(username.strip().lower())
        ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
        now = self._clock.now()
        if user is None or not ok or not user.active:
            self._audit.record(now, username[:64], "auth.login_failed", username[:64])
            raise AuthenticationError("wrong username or password")
        session_id = uuid.uuid4().hex
        expires = now + self._issuer.ttl
        self._sessions.open(session_id, user.id, now, expires)
        principal = Principal(user.id, user.username, user.role)
        token = self._issuer.issue(
            TokenClaims(user.id, user.username, user.role.value, session_id, expires)
        )
        self._audit.record(now, user.username, "auth.login", user.username)
        return LoginResult(token, principal, expires)

    def authenticate(self, token: str) -> Principal:
        """Verify a bearer token and its session; raises AuthenticationError."""
        now = self._clock.now()
        claims = self._issuer.verify(token, now)
        if not self._sessions.is_active(claims.session_id, now):
            raise AuthenticationError("the session was closed; log in again")
        user = self._users.get(claims.user_id)
        if user is None or not user.active:
            raise AuthenticationError("the user no longer exists")
        return Principal(user.id, user.username, user.role)

    def logout(self, token: str) -> None:
        claims = self._issuer.verify(token, self._clock.now())
        self._sessions.revoke(claims.session_id, self._clock.now())


def token_ttl(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
