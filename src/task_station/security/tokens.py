"""JWT access tokens (HS256) tied to a revocable server-side session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from task_station.domain.errors import AuthenticationError, ConfigurationError

MIN_KEY_BYTES = 32
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    username: str
    role: str
    session_id: str
    expires_at: datetime


class TokenIssuer:
    def __init__(self, key: bytes, ttl: timedelta) -> None:
        if len(key) < MIN_KEY_BYTES:  # PyJWT only warns about short HS256 keys
            raise ConfigurationError(f"the JWT signing key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self.ttl = ttl

    def issue(self, claims: TokenClaims) -> str:
        payload = {
            "sub": claims.user_id,
            "name": claims.username,
            "role": claims.role,
            "sid": claims.session_id,
            "exp": int(claims.expires_at.timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, now: datetime) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "sid"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token; log in again") from None
        expires = datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo)
        if expires <= now:
            raise AuthenticationError("the session has expired; log in again")
        return TokenClaims(
            user_id=str(payload["sub"]),
            username=str(payload.get("name", "")),
            role=str(payload.get("role", "")),
            session_id=str(payload["sid"]),
            expires_at=expires,
        )
