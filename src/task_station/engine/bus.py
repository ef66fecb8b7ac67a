"""The in-process event bus.

Publishing is synchronous: handlers run in subscription order before ``publish``
returns, so the engine's own bookkeeping (orders, portfolio) is consistent before any
face sees an event. A failing handler is logged and skipped: a bug in a chart must not
stop a bot. Async consumers (the WebSocket hub) subscribe with a handler that enqueues.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from task_station.domain.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]


class EventBus:
    """Type-routed publish/subscribe; subscribing to ``Event`` receives everything."""

    def __init__(self) -> None:
        self._handlers: defaultdict[type[Event], list[Handler]] = defaultdict(list)
        self._wanted: dict[type[Event], bool] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Register ``handler``; returns a function that unsubscribes it."""
        self._handlers[event_type].append(handler)
        self._wanted.clear()

        def unsubscribe() -> None:
            handlers = self._handlers.get(event_type, [])
            if handler in handlers:
                handlers.remove(handler)
                self._wanted.clear()

        return unsubscribe

    def listeners(self, event_type: type[Event]) -> int:
        """How many handlers an event of ``event_type`` would reach (base types too)."""
        return sum(
            len(self._handlers.get(cls, ()))
            for cls in event_type.__mro__
            if isinstance(cls, type) and issubclass(cls, Event)
        )

    def wants(self, event_type: type[Event]) -> bool:
        """Whether anyone would receive an event of ``event_type``: hot paths (a replay's
        order events) skip building events nobody listens to."""
        wanted = self._wanted.get(event_type)
        if wanted is None:
            wanted = self._wanted[event_type] = self.listeners(event_type) > 0
        return wanted

    def publish(self, event: Event) -> None:
        for cls in type(event).__mro__:
            if not (isinstance(cls, type) and issubclass(cls, Event)):
                continue
            for handler in list(self._handlers.get(cls, ())):
                try:
                    handler(event)
                except Exception:
                    log.exception("event handler %r failed on %s", handler, type(event).__name__)
