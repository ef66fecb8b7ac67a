"""The API's hardening, as plain ASGI middleware (no per-request task, no buffering).

* ``SecurityHeaders``: ``nosniff``, no framing (``X-Frame-Options`` and CSP
  ``frame-ancestors``), no referrer, and ``Cache-Control: no-store`` (a token or a
  balance must not sit in a cache).
* ``RateLimit``: a token bucket per client (the user of a valid bearer token, else the
  peer address); an empty bucket answers 429 with ``Retry-After``.
* ``BodyLimit``: a request body over the limit answers 413 (by its declared length at
  once, or as soon as the streamed bytes pass it).
* ``FaceScope``: marks everything a request does as coming through the API face, for
  the audit trail.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from task_station.api.errors import error_name, error_response
from task_station.api.options import ApiOptions
from task_station.domain.audit import Face, reset_face, set_face
from task_station.services.bundle import Services

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# The interactive docs load their own script and style; they still must not be framed.
_DOCS_CSP = (b"content-security-policy", b"frame-ancestors 'none'")
_DOCS = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(_DOCS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                headers.extend(_HEADERS)
                headers.append(_DOCS_CSP if docs else _STRICT_CSP)
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FaceScope:
    """Everything a request triggers is audited as the API's doing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = set_face(Face.API)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_face(token)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _reject(scope, send, 413, self._detail())
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised inside the route's body read: answered by the 413 handler.
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, counting_receive, send)

    def _detail(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Buckets per key: ``rate`` tokens a second, up to ``burst``; bounded in number."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 when granted, else the seconds until one is."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = _Bucket(float(self.burst), now)
            else:
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
                bucket.stamp = now
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


class RateLimit:
    """429 for a client whose bucket is empty. ``identify`` names the client of a
    request from its bearer token (``None``: unknown or invalid token)."""

    def __init__(
        self, app: ASGIApp, buckets: TokenBuckets, identify: Callable[[str], str | None]
    ) -> None:
        self.app = app
        self.buckets = buckets
        self._identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self._client(scope))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1013, "reason": "rate limited"})
                return
            detail = f"too many requests; slow down and retry in {retry} s"
            await _reject(scope, send, 429, detail, {"Retry-After": str(retry)})
            return
        await self.app(scope, receive, send)

    def _client(self, scope: Scope) -> str:
        authorization = _header(scope, b"authorization")
        if authorization and authorization[:7].lower() == "bearer ":
            user = self._identify(authorization[7:].strip())
            if user is not None:
                return f"user:{user}"
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _reject(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    response = error_response(status, error_name(status), detail, headers)

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)


def install_hardening(app: FastAPI, services: Services, options: ApiOptions) -> None:
    """Add the middleware, outermost last: headers wrap everything (429 and 413
    included), then CORS, the rate limit, the body limit and the face."""
    app.add_middleware(FaceScope)
    app.add_middleware(BodyLimit, max_bytes=options.max_request_bytes)
    buckets = TokenBuckets(options.rate_per_second, options.burst)
    app.add_middleware(RateLimit, buckets=buckets, identify=services.auth.subject)
    app.state.rate_buckets = buckets
    if options.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Link", "X-Total-Count", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
