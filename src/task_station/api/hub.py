"""The WebSocket hub: one bus subscription fanned out to every connection.

``EventBus.publish`` is synchronous and runs inside the engine's step, so the hub's
handler must never wait: it serializes the event once and drops the text into each
connection's bounded outbox. A client that cannot keep up loses its *oldest* messages
(counted, and reported to it as a ``lagged`` message), never slows a bot down.

Portfolio events are snapshots published on every bar; an outbox keeps only the newest
unsent one per bot (moved to the back of the line, so it never overtakes the fills that
caused it). That is why the outbox is a deque and not an ``asyncio.Queue``, which cannot
replace an item in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from task_station.api.messages import CONVERTERS, DEFAULT_TOPICS, conflation_key, encode
from task_station.domain.events import Event
from task_station.engine.bus import EventBus
from task_station.services.health import Readiness

log = logging.getLogger(__name__)


class OutboxClosed(Exception):
    """The hub stopped; the connection should close."""


@dataclass(eq=False, slots=True)
class _Item:
    text: str
    key: str | None


class Outbox:
    """A bounded, drop-oldest buffer of encoded messages for one connection."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("an outbox needs room for at least one message")
        self.maxsize = maxsize
        self.dropped = 0
        self._items: deque[_Item] = deque()
        self._by_key: dict[str, _Item] = {}
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, text: str, key: str | None = None) -> None:
        """Add a message without ever waiting; evict the oldest when full."""
        if self._closed:
            return
        if key is not None and (stale := self._by_key.pop(key, None)) is not None:
            self._items.remove(stale)
        if len(self._items) >= self.maxsize:
            self._forget(self._items.popleft())
            self.dropped += 1
        item = _Item(text, key)
        self._items.append(item)
        if key is not None:
            self._by_key[key] = item
        self._ready.set()

    async def get(self) -> str:
        """The next message; raises ``OutboxClosed`` once closed and drained."""
        while not self._items:
            if self._closed:
                raise OutboxClosed
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        self._forget(item)
        return item.text

    def take_dropped(self) -> int:
        """Messages lost since the last call (for the ``lagged`` notice)."""
        dropped, self.dropped = self.dropped, 0
        return dropped

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    def _forget(self, item: _Item) -> None:
        if item.key is not None and self._by_key.get(item.key) is item:
            del self._by_key[item.key]


@dataclass(eq=False)
class Subscriber:
    """One WebSocket connection's view of the hub."""

    outbox: Outbox
    topics: set[str] = field(default_factory=lambda: set(DEFAULT_TOPICS))


class EventHub:
    """Subscribe to the bus once and fan events out to the connected clients."""

    def __init__(self, bus: EventBus, queue_size: int = 1024) -> None:
        self._bus = bus
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._unsubscribers: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    def start(self) -> None:
        """Subscribe to the bus; call on the event loop that publishes."""
        if self._unsubscribers:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        for event_type in CONVERTERS:
            self._unsubscribers.append(self._bus.subscribe(event_type, self._on_event))

    def stop(self) -> None:
        """Unsubscribe from the bus and tell every connection to close."""
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()
        for subscriber in self._subscribers:
            subscriber.outbox.close()
        self._subscribers.clear()

    def connect(self) -> Subscriber:
        subscriber = Subscriber(Outbox(self._queue_size))
        self._subscribers.add(subscriber)
        return subscriber

    def disconnect(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        subscriber.outbox.close()

    def wants(self, topic: str) -> bool:
        return any(topic in s.topics for s in self._subscribers)

    def broadcast(self, topic: str, text: str, key: str | None = None) -> None:
        """Queue an already encoded message for every subscriber of ``topic``."""
        for subscriber in self._subscribers:
            if topic in subscriber.topics:
                subscriber.outbox.put(text, key)

    def _on_event(self, event: Event) -> None:
        if self._thread is not None and threading.get_ident() != self._thread:
            # The station publishes from its loop; a stray thread is handed over safely
            # rather than corrupting the outboxes.
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._on_event, event)
            return
        topic, convert = next(CONVERTERS[c] for c in type(event).__mro__ if c in CONVERTERS)
        receivers = [s for s in self._subscribers if topic in s.topics]
        if not receivers:
            return
        text = encode(convert(event))
        key = conflation_key(event)
        for subscriber in receivers:
            subscriber.outbox.put(text, key)


def health_message(readiness: Readiness) -> dict[str, object]:
    data = {
        "status": readiness.status,
        "ready": readiness.ready,
        "components": {c.name: {"status": c.status.value, "detail": c.detail}
                       for c in readiness.components},
    }  # fmt: skip
    return {"type": "health", "ts": readiness.checked_at.isoformat(), "data": data}


class HealthBeacon:
    """Tell ``health`` subscribers when the station's readiness changes (and every
    ``heartbeat`` seconds regardless), checking every ``interval`` seconds while anyone
    listens."""

    def __init__(
        self,
        hub: EventHub,
        probe: Callable[[], Awaitable[Readiness]],
        *,
        interval: float = 5.0,
        heartbeat: float = 60.0,
    ) -> None:
        self._hub = hub
        self._probe = probe
        self.interval = interval
        self.heartbeat = heartbeat
        self._last: tuple[str, ...] | None = None
        self._last_sent = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ws-health")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def check(self) -> None:
        """One round: probe and tell subscribers if anything changed."""
        if not self._hub.wants("health"):
            self._last = None  # a new subscriber hears the state at once
            return
        readiness = await self._probe()
        state = (readiness.status, *(f"{c.name}={c.status.value}" for c in readiness.components))
        now = time.monotonic()
        if state != self._last or now - self._last_sent >= self.heartbeat:
            self._hub.broadcast("health", encode(health_message(readiness)), key="health")
            self._last, self._last_sent = state, now

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # a failed probe must not end the beacon
                log.warning("the WebSocket health beacon could not check", exc_info=True)
            await asyncio.sleep(self.interval)
