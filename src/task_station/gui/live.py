"""Keep a widget in step with the event bus without storms or leaks.

``BusLink`` subscribes a widget's handlers and unsubscribes them when the widget is
destroyed (the bus would otherwise call into a deleted C++ object). ``Coalescer`` turns a
burst of events into one reload: the first event starts a single-shot timer and the
events that arrive before it fires ride along, so a bot publishing a portfolio change
on every bar costs the GUI one query per ``delay_ms`` at most.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, QTimer

from task_station.domain.events import Event
from task_station.engine.bus import EventBus

E = TypeVar("E", bound=Event)


class BusLink:
    """Subscriptions owned by ``owner``: released with it, or earlier by ``release``."""

    def __init__(self, owner: QObject, bus: EventBus) -> None:
        self._bus = bus
        unsubscribers: list[Callable[[], None]] = []
        self._unsubscribers = unsubscribers

        def release() -> None:  # no reference to self or owner: safe during destruction
            while unsubscribers:
                unsubscribers.pop()()

        self.release = release
        owner.destroyed.connect(release)

    def on(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._unsubscribers.append(self._bus.subscribe(event_type, handler))

    @property
    def active(self) -> int:
        """How many subscriptions are live (tests check that destroy releases them)."""
        return len(self._unsubscribers)


class Coalescer(QObject):
    """Call ``callback`` once, ``delay_ms`` after the first of any number of requests."""

    def __init__(self, callback: Callable[[], None], delay_ms: int, parent: QObject) -> None:
        super().__init__(parent)
        self._callback = callback
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._fire)
        self.fired = 0

    def request(self, *_: object) -> None:
        """Ask for a reload (extra arguments, such as an event, are ignored)."""
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Reload now if one is pending."""
        if self._timer.isActive():
            self._timer.stop()
            self._fire()

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def _fire(self) -> None:
        self.fired += 1
        self._callback()
