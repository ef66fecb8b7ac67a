"""Login, refresh, logout and sessions: who may call the station, and for how long.

A login opens a session *family* and answers with a short-lived access token (a JWT
that names its session link) and a refresh token. ``refresh`` exchanges a refresh token
for a new pair and retires the old one (rotation); presenting a retired refresh token
again means it leaked, so the whole family is revoked (reuse detection). Every request
checks the access token's link in the database, so a revoked session stops working at
once, whatever its tokens' expiry says.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from task_station.domain.clock import Clock
from task_station.domain.errors import AuthenticationError, NotFoundError
from task_station.domain.ports import AuditLog, SessionStore, UserStore
from task_station.domain.users import Role, SessionRecord, User
from task_station.security.lockout import LoginThrottle
from task_station.security.passwords import verify_password
from task_station.security.tokens import (
    TokenClaims,
    TokenIssuer,
    new_refresh_token,
    refresh_token_hash,
)
from task_station.services.principal import Principal

# A real hash to compare against when the user does not exist, so a wrong username takes
# as long as a wrong password (no user enumeration by timing).
_DUMMY_HASH = "$2b$12$twIVoZ1TIe28/8v3Ztlt5O0kb3VnR4K4p4JKHAx5ll354U50/MMt6"
DEFAULT_SESSION_TTL = timedelta(days=7)
_CLOSED = "the session was closed or has expired; log in again"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """What a login or a refresh hands out. ``token`` is the access token."""

    token: str
    principal: Principal
    expires_at: datetime
    refresh_token: str = ""
    refresh_expires_at: datetime | None = None

    @property
    def session_id(self) -> str | None:
        return self.principal.session_id


@dataclass(frozen=True, slots=True)
class SessionView:
    """One open login of a user (a session family), as a user may see it."""

    id: str
    username: str
    refreshed_at: datetime
    expires_at: datetime
    client: str | None
    current: bool


class AuthService:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        audit: AuditLog,
        clock: Clock,
        issuer: TokenIssuer,
        *,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._audit = audit
        self._clock = clock
        self._issuer = issuer
        self.session_ttl = session_ttl
        self.throttle = throttle or LoginThrottle(clock.now)

    # -- tokens -------------------------------------------------------------------------

    def login(self, username: str, password: str, *, client: str | None = None) -> LoginResult:
        """Check the password and open a session. Repeated failures for a username or
        from an address lock it out for a growing while (``TooManyRequestsError``)."""
        keys = LoginThrottle.keys(username, client)
        self.throttle.check(keys)
        user = self._users.get_by_username(username.strip().lower())
        ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
        now = self._clock.now()
        if user is None or not ok or not user.active:
            self.throttle.failed(keys)
            name = username[:64]
            self._audit.record(now, name, "auth.login_failed", name, client or "")
            raise AuthenticationError("wrong username or password")
        self.throttle.succeeded(user.username)
        family = uuid.uuid4().hex
        result = self._open_link(user, family, now, now + self.session_ttl, client, first=True)
        self._audit.record(now, user.username, "auth.login", user.username, client or "")
        return result

    def refresh(self, refresh_token: str, *, client: str | None = None) -> LoginResult:
        """A new token pair for a valid refresh token; the presented one is retired."""
        now = self._clock.now()
        link = self._sessions.find_by_refresh(refresh_token_hash(refresh_token))
        if link is None:
            raise AuthenticationError("unknown refresh token; log in again")
        user = self._users.get(link.user_id)
        if link.rotated_at is not None:
            self._reused(link, user, now)
        if not link.usable(now) or user is None or not user.active:
            raise AuthenticationError(_CLOSED)
        new = self._link(user, link.family_id, now, link.expires_at, client)
        if not self._sessions.rotate(link.id, new.record, now):
            self._reused(link, user, now)  # a concurrent refresh got there first
        return new.result

    def authenticate(self, token: str) -> Principal:
        """Verify a bearer token and its session; raises AuthenticationError."""
        now = self._clock.now()
        claims = self._issuer.verify(token, now)
        found = self._sessions.get_with_user(claims.session_id)
        if found is None or not found[0].usable(now):
            raise AuthenticationError(_CLOSED)
        link, user = found
        if user.id != claims.user_id or not user.active:
            raise AuthenticationError("the user no longer exists or was disabled")
        return Principal(user.id, user.username, user.role, session_id=link.family_id)

    def subject(self, token: str) -> str | None:
        """The user id of a well-signed, unexpired token (no database look-up: for rate
        limiting, never for authorization)."""
        try:
            return self._issuer.verify(token, self._clock.now()).user_id
        except AuthenticationError:
            return None

    def logout(self, token: str) -> None:
        """Close the token's session: every token of that login stops working."""
        claims = self._issuer.verify(token, self._clock.now())
        link = self._sessions.get(claims.session_id)
        if link is None:
            return
        now = self._clock.now()
        if self._sessions.revoke_family(link.family_id, now):
            self._audit.record(now, claims.username, "auth.logout", claims.username)

    # -- sessions -----------------------------------------------------------------------

    def sessions(self, actor: Principal, username: str | None = None) -> list[SessionView]:
        """The open logins of ``username`` (default: the actor's own; others': admins)."""
        user = self._target(actor, username, "see other users' sessions")
        return [
            SessionView(
                link.family_id,
                user.username,
                link.created_at,
                link.expires_at,
                link.client,
                current=link.family_id == actor.session_id,
            )
            for link in self._sessions.families(user.id, self._clock.now())
        ]

    def revoke_session(self, actor: Principal, session_id: str) -> None:
        """Close one login (a session family) of the actor's, or anyone's for admins."""
        first = self._sessions.get(session_id)
        if first is None or first.family_id != session_id:
            raise NotFoundError(f"no session {session_id!r}")
        if first.user_id != actor.user_id and not actor.at_least(Role.ADMIN):
            raise NotFoundError(f"no session {session_id!r}")  # others' are not even there
        now = self._clock.now()
        owner = self._users.get(first.user_id)
        closed = self._sessions.revoke_family(session_id, now)
        name = owner.username if owner else first.user_id
        self._audit.record(
            now, actor.username, "auth.session_revoke", name, f"session {session_id[:8]}",
            before={"open": bool(closed)}, after={"open": False},
        )  # fmt: skip

    # -- internals ----------------------------------------------------------------------

    def _target(self, actor: Principal, username: str | None, action: str) -> User:
        if username is None or username.strip().lower() == actor.username:
            user = self._users.get(actor.user_id)
        else:
            actor.require_admin(action)
            user = self._users.get_by_username(username)
        if user is None:
            raise NotFoundError(f"no user {username or actor.username!r}")
        return user

    def _reused(self, link: SessionRecord, user: User | None, now: datetime) -> None:
        revoked = self._sessions.revoke_family(link.family_id, now)
        name = user.username if user else link.user_id
        self._audit.record(
            now, name, "auth.refresh_reuse", name,
            f"a retired refresh token was presented again; {revoked} session link(s) closed",
        )  # fmt: skip
        raise AuthenticationError(
            "this refresh token was already used, so this login was closed everywhere; log in again"
        )

    def _open_link(
        self,
        user: User,
        family: str,
        now: datetime,
        expires: datetime,
        client: str | None,
        *,
        first: bool,
    ) -> LoginResult:
        new = self._link(user, family, now, expires, client, link_id=family if first else None)
        record = new.record
        self._sessions.open(
            record.id, record.user_id, record.created_at, record.expires_at,
            family_id=record.family_id, refresh_hash=record.refresh_hash, client=record.client,
        )  # fmt: skip
        return new.result

    def _link(
        self,
        user: User,
        family: str,
        now: datetime,
        expires: datetime,
        client: str | None,
        *,
        link_id: str | None = None,
    ) -> _NewLink:
        refresh = new_refresh_token()
        record = SessionRecord(
            id=link_id or uuid.uuid4().hex, family_id=family, user_id=user.id, created_at=now,
            expires_at=expires, refresh_hash=refresh_token_hash(refresh),
            client=None if client is None else client[:255],
        )  # fmt: skip
        access_expires = min(now + self._issuer.ttl, expires)
        claims = TokenClaims(user.id, user.username, user.role.value, record.id, access_expires)
        principal = Principal(user.id, user.username, user.role, session_id=family)
        token = self._issuer.issue(claims, issued_at=now)
        return _NewLink(record, LoginResult(token, principal, access_expires, refresh, expires))


@dataclass(frozen=True, slots=True)
class _NewLink:
    record: SessionRecord
    result: LoginResult
