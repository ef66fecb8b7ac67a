"""``/ws``: the live event stream.

Authenticate with ``/ws?token=ACCESS_TOKEN`` (or, without the query parameter, send
``{"token": ...}`` as the first message within 10 s). A bad token closes the socket
with code 4401. The server then sends ``{"type": "hello", ...}`` followed by event
messages (see ``messages.py``). Clients may send ``{"subscribe": ["bars"]}`` and
``{"unsubscribe": [...]}``; both are answered with ``{"type": "subscribed", ...}``.

The session behind the token is checked again every few seconds: once it is revoked
(logout, a disabled user, a leaked refresh token) or expired, the socket is closed with
4401. A client too slow for the stream loses its oldest messages and is told how many
(``{"type": "lagged", "dropped": N}``); the engine never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import cast

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from task_station.api.hub import EventHub, OutboxClosed, Subscriber
from task_station.api.messages import DEFAULT_TOPICS, OPTIONAL_TOPICS, encode, hello
from task_station.api.options import ApiOptions
from task_station.domain.errors import AuthenticationError
from task_station.services.bundle import Services
from task_station.services.principal import Principal

router = APIRouter()

CLOSE_POLICY = 4401  # 4000 + HTTP 401: the application-defined "unauthorized" close code
CLOSE_GOING_AWAY = 1001
TOKEN_MESSAGE_TIMEOUT = 10.0
_KNOWN_TOPICS = DEFAULT_TOPICS | OPTIONAL_TOPICS


@router.websocket("/ws")
async def event_stream(websocket: WebSocket, token: str | None = None) -> None:
    services = cast(Services, websocket.app.state.services)
    hub = cast(EventHub, websocket.app.state.hub)
    await websocket.accept()
    principal = await _authenticate(websocket, services, token)
    if principal is None:
        return
    subscriber = hub.connect()
    try:
        hi = hello(principal.username, principal.role.value, frozenset(subscriber.topics))
        await websocket.send_text(encode(hi))
        recheck = cast(ApiOptions, websocket.app.state.options).ws_recheck_seconds
        await _pump(websocket, subscriber, _Watch(services, _token_of(websocket, token), recheck))
    finally:
        hub.disconnect(subscriber)


def _token_of(websocket: WebSocket, token: str | None) -> str:
    """The token the socket authenticated with (kept on its scope's state)."""
    return token if token is not None else str(websocket.state.token)


class _Watch:
    """Re-checks the socket's session every ``interval`` seconds."""

    def __init__(self, services: Services, token: str, interval: float) -> None:
        self.services, self.token, self.interval = services, token, interval

    async def run(self, websocket: WebSocket) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.services.auth.authenticate(self.token)
            except AuthenticationError as exc:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await websocket.close(code=CLOSE_POLICY, reason=str(exc)[:120])
                return


async def _authenticate(
    websocket: WebSocket, services: Services, token: str | None
) -> Principal | None:
    try:
        if token is None:
            token = await _token_from_first_message(websocket)
            websocket.state.token = token
        return services.auth.authenticate(token)
    except (AuthenticationError, TimeoutError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc) if isinstance(exc, AuthenticationError) else "send a valid token"
        await websocket.close(code=CLOSE_POLICY, reason=reason[:120])
        return None
    except WebSocketDisconnect:
        return None


async def _token_from_first_message(websocket: WebSocket) -> str:
    text = await asyncio.wait_for(websocket.receive_text(), TOKEN_MESSAGE_TIMEOUT)
    token = json.loads(text)["token"]
    if not isinstance(token, str):
        raise TypeError("token must be a string")
    return token


async def _pump(websocket: WebSocket, subscriber: Subscriber, watch: _Watch) -> None:
    """Send events and read client requests until either side stops or the session ends."""
    sender = asyncio.create_task(_send_events(websocket, subscriber))
    reader = asyncio.create_task(_read_requests(websocket, subscriber))
    watcher = asyncio.create_task(watch.run(websocket))
    try:
        await asyncio.wait({sender, reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, reader, watcher):
            task.cancel()
        await asyncio.gather(sender, reader, watcher, return_exceptions=True)
    if not sender.cancelled() and isinstance(sender.exception(), OutboxClosed):
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=CLOSE_GOING_AWAY, reason="the station is stopping")


async def _send_events(websocket: WebSocket, subscriber: Subscriber) -> None:
    outbox = subscriber.outbox
    while True:
        text = await outbox.get()
        if dropped := outbox.take_dropped():
            await websocket.send_text(encode({"type": "lagged", "dropped": dropped}))
        await websocket.send_text(text)


async def _read_requests(websocket: WebSocket, subscriber: Subscriber) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            reply = _handle_request(await websocket.receive_text(), subscriber)
            subscriber.outbox.put(encode(reply))


def _topics(request: dict[str, object], key: str) -> set[str] | None:
    value = request.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return None
    return set(value)


def _handle_request(text: str, subscriber: Subscriber) -> dict[str, object]:
    """Apply a ``subscribe``/``unsubscribe`` request; the reply says what is active now."""
    usage = 'send {"subscribe": [TOPIC, ...]} or {"unsubscribe": [TOPIC, ...]}'
    try:
        request = json.loads(text)
    except ValueError:
        return {"type": "error", "detail": f"messages must be JSON; {usage}"}
    if not isinstance(request, dict) or not set(request) <= {"subscribe", "unsubscribe"}:
        return {"type": "error", "detail": usage}
    wanted, unwanted = _topics(request, "subscribe"), _topics(request, "unsubscribe")
    if wanted is None or unwanted is None:
        return {"type": "error", "detail": f"topics must be a list of strings; {usage}"}
    if unknown := (wanted | unwanted) - _KNOWN_TOPICS:
        known = ", ".join(sorted(_KNOWN_TOPICS))
        return {"type": "error", "detail": f"unknown topic(s) {sorted(unknown)}; known: {known}"}
    subscriber.topics |= wanted
    subscriber.topics -= unwanted
    return {"type": "subscribed", "topics": sorted(subscriber.topics)}
