"""Injected time: the only way domain, engine and strategies learn what time it is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: replays and tests drive it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware UTC datetime")
        self._now = when


class ReplayClock(ManualClock):
    """A manual clock a replay moves by milliseconds, making the datetime only when read.

    A million-bar replay sets the time every bar but reads it on few of them.
    """

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self._ms: int | None = None

    def set_ms(self, ms: int) -> None:
        self._ms = ms

    def set(self, when: datetime) -> None:
        self._ms = None
        super().set(when)

    def now(self) -> datetime:
        if self._ms is not None:
            self._now = ms_to_datetime(self._ms)
            self._ms = None
        return self._now


def ms_to_datetime(ms: int) -> datetime:
    """Milliseconds since the epoch (UTC) to an aware datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(when: datetime) -> int:
    """An aware datetime to milliseconds since the epoch."""
    return int(when.timestamp() * 1000)
