"""Access tokens (HS256 JWT, short-lived) and refresh tokens (opaque, stored hashed).

An access token names its session link (``sid``); the server checks that link on every
request, so logging out or revoking a session stops its tokens at once. A refresh token
is 256 random bits shown to the client once; only its SHA-256 reaches the database.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from task_station.domain.errors import AuthenticationError, ConfigurationError

MIN_KEY_BYTES = 32
ALGORITHM = "HS256"
ACCESS = "access"
#: Bytes of randomness in a refresh token.
REFRESH_BYTES = 32


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    username: str
    role: str
    session_id: str
    expires_at: datetime


class TokenIssuer:
    """Sign and check access tokens with the station's key (kept in the vault)."""

    def __init__(self, key: bytes, ttl: timedelta) -> None:
        if len(key) < MIN_KEY_BYTES:  # PyJWT only warns about short HS256 keys
            raise ConfigurationError(f"the JWT signing key must be at least {MIN_KEY_BYTES} bytes")
        if ttl <= timedelta(0):
            raise ConfigurationError("access tokens need a positive lifetime")
        self._key = key
        self.ttl = ttl

    def issue(self, claims: TokenClaims, issued_at: datetime | None = None) -> str:
        payload = {
            "typ": ACCESS,
            "sub": claims.user_id,
            "name": claims.username,
            "role": claims.role,
            "sid": claims.session_id,
            "exp": int(claims.expires_at.timestamp()),
            "jti": secrets.token_hex(8),
        }
        if issued_at is not None:
            payload["iat"] = int(issued_at.timestamp())
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, now: datetime) -> TokenClaims:
        """The claims of a well-signed, unexpired access token; AuthenticationError else."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "sid"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token; log in again") from None
        if payload.get("typ", ACCESS) != ACCESS:
            raise AuthenticationError("not an access token; log in again")
        try:
            expires = datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo)
        except (TypeError, ValueError, OverflowError, OSError):
            raise AuthenticationError("invalid token; log in again") from None
        if expires <= now:
            raise AuthenticationError("the session has expired; log in again")
        return TokenClaims(
            user_id=str(payload["sub"]),
            username=str(payload.get("name", "")),
            role=str(payload.get("role", "")),
            session_id=str(payload["sid"]),
            expires_at=expires,
        )


def new_refresh_token() -> str:
    """A fresh refresh token (URL-safe text)."""
    return secrets.token_urlsafe(REFRESH_BYTES)


def refresh_token_hash(token: str) -> str:
    """What the database keeps of a refresh token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
