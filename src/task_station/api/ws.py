"""``/ws``: the live event stream.

Authenticate with ``/ws?token=ACCESS_TOKEN`` (or, without the query parameter, send
``{"token": ...}`` as the first message within 10 s). A bad token closes the socket
with code 4401. The server then sends ``{"type": "hello", ...}`` followed by event
messages (see ``messages.py``). Clients may send ``{"subscribe": ["bars"]}`` and
``{"unsubscribe": [...]}``; both are answered with ``{"type": "subscribed", ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import cast

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from task_station.api.hub import EventHub, OutboxClosed, Subscriber
from task_station.api.messages import DEFAULT_TOPICS, OPTIONAL_TOPICS, encode, hello
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
        await _pump(websocket, subscriber)
    finally:
        hub.disconnect(subscriber)


async def _authenticate(
    websocket: WebSocket, services: Services, token: str | None
) -> Principal | None:
    try:
        if token is None:
            token = await _token_from_first_message(websocket)
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


async def _pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send events and read client requests until either side stops."""
    sender = asyncio.create_task(_send_events(websocket, subscriber))
    reader = asyncio.create_task(_read_requests(websocket, subscriber))
    try:
        await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, reader):
            task.cancel()
        await asyncio.gather(sender, reader, return_exceptions=True)
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
