"""Notifications: what the station tells the trader, where, and how often.

A notification has a ``kind`` (dotted, like ``bot.stopped`` or ``task.failed``), a
severity, a title and a body. It is always kept in the in-app feed; each configured
*channel* (desktop tray, email, Telegram, Discord, a generic webhook) receives the
kinds its routing rule accepts, at or above its minimum severity, at most as often as
its token bucket allows.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from task_station.domain.errors import TaskStationError, ValidationError
from task_station.domain.events import Event

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Severity(IntEnum):
    """How urgent a notification is; routing compares them (``warning >= info``)."""

    INFO = 10
    WARNING = 20
    ERROR = 30
    CRITICAL = 40

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> Severity:
        """``info``/``warning``/``error``/``critical`` (or a Severity) -> Severity."""
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValidationError(f"unknown severity {value!r}; use one of {names}") from None


class ChannelType(StrEnum):
    DESKTOP = "desktop"
    EMAIL = "email"
    TELEGRAM = "telegram"
    DISCORD = "discord"
    WEBHOOK = "webhook"


class NotificationDeliveryError(TaskStationError):
    """A channel could not deliver now (network, server error, rate limited): retried."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One entry of the in-app feed."""

    id: str
    ts: datetime
    kind: str
    severity: Severity
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)
    read_at: datetime | None = None

    @property
    def read(self) -> bool:
        return self.read_at is not None


@dataclass(frozen=True, slots=True)
class Route:
    """Which notifications a channel receives: kinds matching one of ``kinds`` (shell
    patterns such as ``bot.*``; empty means every kind) at ``min_severity`` or above."""

    kinds: tuple[str, ...] = ()
    min_severity: Severity = Severity.INFO

    def accepts(self, kind: str, severity: Severity) -> bool:
        if severity < self.min_severity:
            return False
        return not self.kinds or any(fnmatch.fnmatchcase(kind, k) for k in self.kinds)


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """A configured channel. ``settings`` holds what is not secret (SMTP host, chat id,
    API base URL); the secret part (password, bot token, webhook URL, signing key) is in
    the vault under ``secret_ref`` and never here. ``rate_per_minute`` and ``burst``
    size the channel's token bucket."""

    name: str
    type: ChannelType
    enabled: bool = True
    route: Route = field(default_factory=Route)
    settings: dict[str, Any] = field(default_factory=dict)
    rate_per_minute: float = 20.0
    burst: int = 5
    secret_ref: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


def check_channel_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValidationError(
            f"channel name {name!r} must be 1-64 lower-case letters, digits, - or _, "
            "starting with a letter or digit"
        )
    return name


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    cleaned = tuple(k.strip() for k in kinds if k.strip())
    for kind in cleaned:
        if len(kind) > 64 or not re.match(r"^[A-Za-z0-9_.*?\[\]-]+$", kind):
            raise ValidationError(
                f"kind pattern {kind!r} may hold letters, digits, '.', '_', '-' and the "
                "wildcards * and ? (at most 64 characters)"
            )
    return cleaned


class TokenBucket:
    """A token bucket: ``burst`` sends at once, refilled at ``rate_per_minute``.

    Pure: the caller passes the time (seconds, any monotonic origin). ``take`` never
    waits; a refused send is counted in ``suppressed`` until ``drain_suppressed``.
    """

    def __init__(self, rate_per_minute: float, burst: int, now: float) -> None:
        if rate_per_minute <= 0 or burst < 1:
            raise ValidationError(
                f"a rate limit needs a positive rate and a burst of at least 1, got "
                f"{rate_per_minute}/min and {burst}"
            )
        self.rate = rate_per_minute / 60.0
        self.burst = burst
        self.tokens = float(burst)
        self.suppressed = 0
        self._at = now

    def take(self, now: float) -> bool:
        """Spend a token if there is one; False (and one more suppressed) if not."""
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self._at) * self.rate)
        self._at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.suppressed += 1
        return False

    def drain_suppressed(self) -> int:
        count, self.suppressed = self.suppressed, 0
        return count


@dataclass(frozen=True, slots=True)
class NotificationRaised(Event):
    """A notification entered the feed; ``desktop`` says whether the tray shows it."""

    notification_id: str
    kind: str
    severity: str
    title: str
    body: str
    desktop: bool = True
