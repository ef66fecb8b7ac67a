"""Bodies of the login, session, user and audit routes.

Passwords and refresh tokens are accepted as ``SecretStr``: they never show up in a
``repr``, a log line or a validation error. Responses never carry a password hash, a
refresh-token hash or the signing key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from task_station.domain.audit import AuditEvent
from task_station.domain.users import User
from task_station.services.auth import LoginResult, SessionView

RoleName = Literal["admin", "trader", "viewer"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class LoginRequest(_Request):
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)


class RefreshRequest(_Request):
    refresh_token: SecretStr = Field(min_length=1, max_length=512)


class PasswordChange(_Request):
    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: SecretStr = Field(min_length=1, max_length=1024)


class PasswordReset(_Request):
    new_password: SecretStr = Field(min_length=1, max_length=1024)


class UserCreate(_Request):
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)
    role: RoleName


class UserUpdate(_Request):
    """Leave a field out to keep it."""

    role: RoleName | None = None
    active: bool | None = None


class UserOut(BaseModel):
    username: str
    role: str


class UserDetail(UserOut):
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserDetail:
        return cls(
            username=user.username,
            role=user.role.value,
            active=user.active,
            created_at=user.created_at,
        )


class TokenOut(BaseModel):
    """A token pair. Send ``access_token`` as ``Authorization: Bearer ...``; before it
    expires, trade ``refresh_token`` for a new pair at ``POST /auth/refresh`` (each
    refresh token works once)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 scheme name
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime | None
    session_id: str | None
    user: UserOut

    @classmethod
    def of(cls, result: LoginResult) -> TokenOut:
        principal = result.principal
        return cls(
            access_token=result.token,
            expires_at=result.expires_at,
            refresh_token=result.refresh_token,
            refresh_expires_at=result.refresh_expires_at,
            session_id=result.session_id,
            user=UserOut(username=principal.username, role=principal.role.value),
        )


class MeOut(UserOut):
    session_id: str | None


class SessionOut(BaseModel):
    id: str
    username: str
    refreshed_at: datetime
    expires_at: datetime
    client: str | None
    current: bool

    @classmethod
    def of(cls, view: SessionView) -> SessionOut:
        return cls(
            id=view.id,
            username=view.username,
            refreshed_at=view.refreshed_at,
            expires_at=view.expires_at,
            client=view.client,
            current=view.current,
        )


class AuditEventOut(BaseModel):
    """One audit event; ``before`` and ``after`` are the JSON text that was hashed."""

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

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(
            id=event.id, ts=event.ts, actor=event.actor, action=event.action,
            subject=event.subject, detail=event.detail, face=event.face,
            before=event.before, after=event.after, prev_hash=event.prev_hash,
            hash=event.hash,
        )  # fmt: skip


class AuditVerifyOut(BaseModel):
    ok: bool
    checked: int
    last_hash: str
    first_bad_event: int | None
    reason: str | None
    summary: str
