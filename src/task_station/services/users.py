"""Users: create them, change their role, disable them, set passwords.

Admins manage users; everyone may change their own password. A change that takes
rights away (disabling a user, resetting a password) also closes that user's sessions,
and the station never lets its last active admin go.
"""

from __future__ import annotations

import builtins
import dataclasses
import uuid
from datetime import timedelta

from task_station.domain.clock import Clock
from task_station.domain.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from task_station.domain.ports import AuditLog, SessionStore, UserStore
from task_station.domain.users import Role, User
from task_station.security.passwords import check_policy, hash_password, verify_password
from task_station.services.auth import AuthService, LoginResult, SessionView
from task_station.services.principal import Principal

__all__ = ["AuthService", "LoginResult", "SessionView", "UserService", "token_ttl"]

_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _state(user: User) -> dict[str, object]:
    """What the audit trail keeps of a user (never the password hash)."""
    return {"username": user.username, "role": user.role.value, "active": user.active}


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError(f"unknown role {role!r}; use admin, trader or viewer") from None


class UserService:
    def __init__(
        self,
        users: UserStore,
        audit: AuditLog,
        clock: Clock,
        bcrypt_rounds: int,
        *,
        sessions: SessionStore | None = None,
    ) -> None:
        self._users = users
        self._audit = audit
        self._clock = clock
        self._rounds = bcrypt_rounds
        self._sessions = sessions

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
        role = _role(role)
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
            self._clock.now(), actor.username if actor else name, "user.create", name,
            role.value, after=_state(user),
        )  # fmt: skip
        return user

    def list(self, actor: Principal) -> builtins.list[User]:
        actor.require_admin("list users")
        return self._users.list()

    def get(self, actor: Principal, username: str) -> User:
        if username.strip().lower() != actor.username:
            actor.require_admin("see other users")
        return self._find(username)

    def update(
        self,
        actor: Principal,
        username: str,
        *,
        role: Role | str | None = None,
        active: bool | None = None,
    ) -> User:
        """Change a user's role or enable/disable them (admins). Disabling closes the
        user's sessions; the last active admin cannot be demoted or disabled."""
        actor.require_admin("change users")
        user = self._find(username)
        changed = dataclasses.replace(
            user,
            role=user.role if role is None else _role(role),
            active=user.active if active is None else active,
        )
        if changed == user:
            return user
        if (
            user.role is Role.ADMIN
            and user.active
            and not (changed.role is Role.ADMIN and changed.active)
        ):
            self._keep_an_admin(user)
        self._users.update(changed)
        now = self._clock.now()
        if not changed.active and self._sessions is not None:
            self._sessions.revoke_user(user.id, now)
        self._audit.record(
            now, actor.username, "user.update", user.username, "",
            before=_state(user), after=_state(changed),
        )  # fmt: skip
        return changed

    def reset_password(self, actor: Principal, username: str, new_password: str) -> None:
        """Set another user's password (admins); closes all of that user's sessions."""
        actor.require_admin("set other users' passwords")
        user = self._find(username)
        self._set_password(user, new_password, actor, keep_family=None)

    def change_password(self, actor: Principal, current: str, new_password: str) -> None:
        """Change one's own password; every other session of the user is closed."""
        user = self._users.get(actor.user_id)
        if user is None or not user.active:
            raise AuthenticationError("the user no longer exists or was disabled")
        if not verify_password(current, user.password_hash):
            raise AuthenticationError("the current password is wrong")
        if current == new_password:
            raise ValidationError("the new password must differ from the current one")
        self._set_password(user, new_password, actor, keep_family=actor.session_id)

    # -- internals ----------------------------------------------------------------------

    def _set_password(
        self, user: User, password: str, actor: Principal, *, keep_family: str | None
    ) -> None:
        check_policy(password)
        updated = dataclasses.replace(user, password_hash=hash_password(password, self._rounds))
        self._users.update(updated)
        now = self._clock.now()
        closed = 0
        if self._sessions is not None:
            closed = self._sessions.revoke_user(user.id, now, keep_family=keep_family)
        self._audit.record(
            now, actor.username, "user.password", user.username,
            f"{closed} other session link(s) closed",
            before={"password": "set"}, after={"password": "changed"},
        )  # fmt: skip

    def _find(self, username: str) -> User:
        user = self._users.get_by_username(username.strip().lower())
        if user is None:
            raise NotFoundError(f"no user {username!r}")
        return user

    def _keep_an_admin(self, leaving: User) -> None:
        others = [
            u for u in self._users.list()
            if u.role is Role.ADMIN and u.active and u.id != leaving.id
        ]  # fmt: skip
        if not others:
            raise ConflictError(
                f"{leaving.username} is the last active admin; make another user admin first"
            )


def token_ttl(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
