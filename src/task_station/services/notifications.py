"""Notifications: the in-app feed, the desktop tray, and outgoing channels.

``notify(kind, title, body)`` is what bots' owners, tasks' actions and the station call
to tell the trader something. It

1. stores the notification in the feed (``list``, ``mark_read``; ``GET /notifications``),
2. publishes ``NotificationRaised`` on the bus (the GUI's tray shows it when the
   desktop channel's rule accepts it; ``/ws`` clients get it too),
3. for each enabled channel whose routing rule accepts the kind and severity, takes a
   token from that channel's bucket and queues a delivery job (``notify.deliver``,
   retried with back-off by the job queue). A notification the bucket refuses is
   dropped for that channel and counted; the count rides along with the channel's next
   delivery and shows in ``channels()``. Nothing here waits for a network.

Channel secrets (SMTP password, Telegram bot token, Discord and webhook URLs, a
webhook's signing key) go to the vault under ``notify-channel:<name>`` and never to the
database, the logs, an error or a response: ``channels()`` only says which secret
fields are set.
"""

from __future__ import annotations

import builtins
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from task_station.domain.clock import Clock
from task_station.domain.errors import ConfigurationError, NotFoundError, ValidationError
from task_station.domain.notifications import ChannelConfig as ChannelConfig
from task_station.domain.notifications import (
    ChannelType,
    Notification,
    NotificationRaised,
    Route,
    Severity,
    TokenBucket,
    check_channel_name,
    check_kinds,
)
from task_station.domain.ports import AuditLog
from task_station.engine.bus import EventBus
from task_station.jobs.queue import JobContext
from task_station.services.channels import ADAPTERS, Message
from task_station.services.channels.base import install_scrubber, remember_secrets
from task_station.services.jobs import Job, JobService
from task_station.services.principal import Principal

log = logging.getLogger(__name__)

#: The job kind of one delivery to one channel.
DELIVER_KIND = "notify.deliver"
SECRET_PREFIX = "notify-channel:"  # noqa: S105 - a vault reference, not a secret
MAX_TITLE = 200
MAX_BODY = 4000
MAX_LISTED = 500
_KIND = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class NotificationStore(Protocol):
    """The feed and the channels (``persistence.notifications.SqlNotificationStore``)."""

    def add(self, notification: Notification) -> None: ...

    def get(self, notification_id: str) -> Notification | None: ...

    def list(
        self, *, limit: int = 50, unread_only: bool = False
    ) -> builtins.list[Notification]: ...

    def unread_count(self) -> int: ...

    def mark_read(self, ids: Sequence[str] | None, when: datetime) -> int: ...

    def channels(self) -> builtins.list[ChannelConfig]: ...

    def channel(self, name: str) -> ChannelConfig | None: ...

    def save_channel(self, channel: ChannelConfig, when: datetime) -> ChannelConfig: ...

    def delete_channel(self, name: str) -> bool: ...


class SecretVault(Protocol):
    """``security.vault.SecretsVault``, as far as channels use it."""

    def get(self, ref: str) -> str | None: ...

    def set(self, ref: str, value: str) -> None: ...

    def delete(self, ref: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel as faces show it: no secret, only the names of the secret fields set
    (``secrets_set``); ``suppressed`` counts what its rate limit dropped since start."""

    name: str
    type: str
    enabled: bool
    kinds: tuple[str, ...]
    min_severity: str
    settings: dict[str, Any]
    rate_per_minute: float
    burst: int
    secrets_set: tuple[str, ...]
    secrets_needed: tuple[str, ...]
    suppressed: int = 0
    updated_at: datetime | None = None


class NotificationService:
    """Tell the trader: feed, tray, email, Telegram, Discord and webhooks.

    ``monotonic`` is the rate limits' time source (seconds), injectable for tests;
    ``retry_backoff`` the seconds before a failed delivery's second attempt (doubling
    each time, at most 15 minutes, six attempts in all).
    """

    def __init__(
        self,
        store: NotificationStore,
        vault: SecretVault,
        jobs: JobService,
        bus: EventBus,
        clock: Clock,
        *,
        audit: AuditLog | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        retry_backoff: float = 5.0,
    ) -> None:
        self._store = store
        self._vault = vault
        self._jobs = jobs
        self._bus = bus
        self._clock = clock
        self._audit = audit
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[tuple[float, int], TokenBucket]] = {}
        self._suppressed: dict[str, int] = {}
        install_scrubber()
        jobs.register(
            DELIVER_KIND, self.deliver, max_attempts=6, timeout=120.0,
            backoff_base=retry_backoff, backoff_cap=900.0,
        )  # fmt: skip

    # -- telling ------------------------------------------------------------------------

    async def notify(
        self,
        kind: str,
        title: str,
        body: str,
        *,
        data: dict[str, object] | None = None,
        severity: Severity | str | None = None,
    ) -> None:
        """Store a notification, show it and queue it to every channel that wants it.

        ``kind`` is dotted (``bot.stopped``, ``task.failed``); ``severity`` (info,
        warning, error, critical; default ``data["severity"]`` or info) decides which
        channels get it. Never waits for a network; a channel's rate limit drops (and
        counts) what exceeds it.
        """
        if not _KIND.match(kind):
            raise ValidationError(
                f"notification kind {kind!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        document = dict(data or {})
        level = Severity.parse(severity or document.get("severity") or "info")
        notification = Notification(
            id=str(uuid.uuid4()),
            ts=self._clock.now(),
            kind=kind,
            severity=level,
            title=_clip(title, MAX_TITLE) or kind,
            body=_clip(body, MAX_BODY),
            data=_json_safe(document),
        )
        self._store.add(notification)
        configured = self._store.channels()
        channels = [c for c in configured if c.enabled]
        desktop = self._desktop_wants(notification, configured)
        self._bus.publish(
            NotificationRaised(
                notification.ts, notification.id, kind, level.label,
                notification.title, notification.body, desktop,
            )
        )  # fmt: skip
        for channel in channels:
            if channel.type is ChannelType.DESKTOP:
                continue
            if channel.route.accepts(kind, level):
                self._queue_delivery(channel, notification)

    def _desktop_wants(self, notification: Notification, channels: list[ChannelConfig]) -> bool:
        """Whether the tray shows it: yes when no desktop channel is configured, else
        when an enabled one's rule accepts it and its rate limit allows."""
        desktops = [c for c in channels if c.type is ChannelType.DESKTOP]
        if not desktops:
            return True
        wanted = [
            c for c in desktops
            if c.enabled and c.route.accepts(notification.kind, notification.severity)
        ]  # fmt: skip
        return any(self._bucket(c).take(self._monotonic()) for c in wanted)

    def _queue_delivery(self, channel: ChannelConfig, notification: Notification) -> None:
        bucket = self._bucket(channel)
        if not bucket.take(self._monotonic()):
            self._suppressed[channel.name] = self._suppressed.get(channel.name, 0) + 1
            level = logging.INFO if bucket.suppressed == 1 else logging.DEBUG  # once a streak
            log.log(level, "notifications to %s are over its rate limit (%g a minute, burst "
                    "%d): held back and counted", channel.name, channel.rate_per_minute,
                    channel.burst)  # fmt: skip
            return
        payload = {
            "channel": channel.name,
            "notification_id": notification.id,
            "suppressed": bucket.drain_suppressed(),
        }
        try:
            self._jobs.enqueue(
                DELIVER_KIND,
                payload,
                title=f"Notify {channel.name}: {notification.title}"[:255],
                idempotency_key=f"notify:{notification.id}:{channel.name}",
            )
        except Exception:  # one channel's trouble must not keep the others silent
            log.exception("notification %s: could not queue its delivery to %s",
                          notification.id, channel.name)  # fmt: skip

    def _bucket(self, channel: ChannelConfig) -> TokenBucket:
        size = (channel.rate_per_minute, channel.burst)
        held = self._buckets.get(channel.name)
        if held is None or held[0] != size:
            bucket = TokenBucket(channel.rate_per_minute, channel.burst, self._monotonic())
            self._buckets[channel.name] = (size, bucket)
            return bucket
        return held[1]

    # -- the feed -----------------------------------------------------------------------

    def list(self, *, limit: int = 50, unread_only: bool = False) -> builtins.list[Notification]:
        """The newest notifications first."""
        if not 1 <= limit <= MAX_LISTED:
            raise ValidationError(f"limit must be between 1 and {MAX_LISTED}, got {limit}")
        return self._store.list(limit=limit, unread_only=unread_only)

    def get(self, notification_id: str) -> Notification:
        found = self._store.get(notification_id)
        if found is None:
            raise NotFoundError(f"notification {notification_id} does not exist")
        return found

    def unread_count(self) -> int:
        return self._store.unread_count()

    def mark_read(self, ids: Sequence[str] | None = None) -> int:
        """Mark ``ids`` read (None: all); returns how many were unread."""
        return self._store.mark_read(None if ids is None else list(ids), self._clock.now())

    # -- channels -----------------------------------------------------------------------

    def channels(self) -> builtins.list[ChannelView]:
        return [self._view(channel) for channel in self._store.channels()]

    def channel(self, name: str) -> ChannelView:
        return self._view(self._config(name))

    def set_channel(
        self,
        actor: Principal,
        name: str,
        *,
        type: str,
        enabled: bool = True,
        kinds: Sequence[str] = (),
        min_severity: str = "info",
        settings: Mapping[str, Any] | None = None,
        rate_per_minute: float = 20.0,
        burst: int = 5,
        secret: Mapping[str, str] | None = None,
    ) -> ChannelView:
        """Create or replace a channel (admins). ``secret`` (None: keep the stored one)
        holds the secret fields (``password``, ``bot_token``, ``webhook_url``, ``url``,
        ``signing_key``); it goes to the vault only."""
        actor.require_admin("configure notification channels")
        check_channel_name(name)
        channel_type = _channel_type(type)
        if not 0 < rate_per_minute <= 600 or not 1 <= burst <= 100:
            raise ValidationError("rate_per_minute must be above 0 and at most 600; burst 1 to 100")
        checked, secret_ref = self._checked(name, channel_type, settings or {}, secret)
        existing = self._store.channel(name)
        config = ChannelConfig(
            name=name,
            type=channel_type,
            enabled=enabled,
            route=Route(check_kinds(kinds), Severity.parse(min_severity)),
            settings=checked,
            rate_per_minute=float(rate_per_minute),
            burst=int(burst),
            secret_ref=secret_ref,
        )
        saved = self._store.save_channel(config, self._clock.now())
        self._record(actor, "notify.channel.set" if existing else "notify.channel.add", name,
                     f"type={channel_type.value}; secret {'replaced' if secret else 'kept'}")  # fmt: skip
        return self._view(saved)

    def delete_channel(self, actor: Principal, name: str) -> None:
        """Remove a channel and its secret (admins)."""
        actor.require_admin("remove notification channels")
        channel = self._config(name)
        if channel.secret_ref:
            self._vault.delete(channel.secret_ref)
        self._store.delete_channel(name)
        self._buckets.pop(name, None)
        self._record(actor, "notify.channel.delete", name, f"type={channel.type.value}")

    def test_channel(self, actor: Principal, name: str) -> Job:
        """Queue a test message to channel ``name`` (bypassing its rule and rate limit);
        follow the returned job to see whether it arrived."""
        actor.require_trader("send test notifications")
        channel = self._config(name)
        if channel.type is ChannelType.DESKTOP:
            raise ValidationError("the desktop channel is the station's tray: nothing to send")
        message = {
            "id": str(uuid.uuid4()),
            "kind": "notify.test",
            "severity": "info",
            "title": "Test notification from TASK Station",
            "body": f"Channel {name} works: {actor.username} sent this test.",
            "ts": self._clock.now().isoformat(),
        }
        return self._jobs.enqueue(
            DELIVER_KIND,
            {"channel": name, "message": message},
            title=f"Test notification to {name}",
            created_by=actor.username,
            max_attempts=2,
        )

    # -- delivery (a job handler) -------------------------------------------------------

    async def deliver(self, ctx: JobContext) -> dict[str, Any]:
        """Send one notification to one channel: the ``notify.deliver`` job."""
        payload = ctx.job.payload
        name = str(payload.get("channel"))
        channel = self._store.channel(name)
        if channel is None:
            raise NotFoundError(f"notification channel {name} was removed; nothing was sent")
        adapter = ADAPTERS.get(channel.type)
        if adapter is None or not channel.enabled:
            return {"channel": name, "skipped": "the channel is disabled or has nothing to send"}
        message = self._message(payload)
        secret = self._secret(channel)
        missing = [f for f in adapter.required_secrets if not secret.get(f)]
        if missing:
            raise ConfigurationError(
                f"notification channel {name} has no {', '.join(missing)} in the vault; "
                "set the channel's secret"
            )
        remember_secrets(secret)
        ctx.progress(0, 1, f"sending to {name}")
        receipt = await ctx.once("sent", lambda: adapter.send(message, channel.settings, secret))
        ctx.progress(1, 1, f"sent to {name}")
        return {"channel": name, "type": channel.type.value, "receipt": receipt}

    # -- internals ----------------------------------------------------------------------

    def _message(self, payload: Mapping[str, Any]) -> Message:
        inline = payload.get("message")
        if isinstance(inline, Mapping):
            return Message(
                id=str(inline["id"]), kind=str(inline["kind"]),
                severity=Severity.parse(inline.get("severity", "info")),
                title=str(inline["title"]), body=str(inline.get("body", "")),
                ts=str(inline["ts"]),
            )  # fmt: skip
        notification = self.get(str(payload.get("notification_id")))
        return Message(
            id=notification.id,
            kind=notification.kind,
            severity=notification.severity,
            title=notification.title,
            body=notification.body,
            ts=notification.ts.isoformat(),
            data=dict(notification.data),
            suppressed=int(payload.get("suppressed") or 0),
        )

    def _secret(self, channel: ChannelConfig) -> dict[str, str]:
        if not channel.secret_ref:
            return {}
        stored = self._vault.get(channel.secret_ref)
        if not stored:
            return {}
        try:
            value = json.loads(stored)
        except ValueError:
            raise ConfigurationError(
                f"the vault entry of notification channel {channel.name} is damaged; set "
                "the channel's secret again"
            ) from None
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def _checked(
        self,
        name: str,
        channel_type: ChannelType,
        settings: Mapping[str, Any],
        secret: Mapping[str, str] | None,
    ) -> tuple[dict[str, Any], str | None]:
        """Validated settings, and the vault reference (the secret stored if given)."""
        adapter = ADAPTERS.get(channel_type)
        if adapter is None:  # the desktop tray
            if settings or secret:
                raise ValidationError("the desktop channel takes no settings and no secret")
            return {}, None
        checked = adapter.check_settings(settings)
        ref = SECRET_PREFIX + name
        if secret is not None:
            unknown = sorted(set(secret) - set(adapter.secrets))
            if unknown:
                raise ValidationError(
                    f"unknown secret field(s) {', '.join(unknown)} for {channel_type.value}; "
                    f"it takes {', '.join(adapter.secrets)}"
                )
            cleaned = {k: str(v) for k, v in secret.items() if v}
            adapter.check_secret(cleaned)
            missing = [f for f in adapter.required_secrets if not cleaned.get(f)]
            if missing:
                raise ValidationError(f"{channel_type.value} needs the secret {', '.join(missing)}")
            self._vault.set(ref, json.dumps(cleaned))
            remember_secrets(cleaned)
            return checked, ref
        existing = self._store.channel(name)
        if existing is None or existing.type is not channel_type or not existing.secret_ref:
            if adapter.required_secrets:
                raise ValidationError(
                    f"{channel_type.value} needs the secret {', '.join(adapter.required_secrets)}"
                )
            return checked, None
        return checked, existing.secret_ref

    def _config(self, name: str) -> ChannelConfig:
        channel = self._store.channel(name)
        if channel is None:
            raise NotFoundError(f"notification channel {name} does not exist")
        return channel

    def _view(self, channel: ChannelConfig) -> ChannelView:
        adapter = ADAPTERS.get(channel.type)
        try:
            secret = self._secret(channel)
        except Exception:  # a locked vault: say nothing is known to be set
            secret = {}
        return ChannelView(
            name=channel.name,
            type=channel.type.value,
            enabled=channel.enabled,
            kinds=channel.route.kinds,
            min_severity=channel.route.min_severity.label,
            settings=dict(channel.settings),
            rate_per_minute=channel.rate_per_minute,
            burst=channel.burst,
            secrets_set=tuple(sorted(k for k, v in secret.items() if v)),
            secrets_needed=() if adapter is None else adapter.required_secrets,
            suppressed=self._suppressed.get(channel.name, 0),
            updated_at=channel.updated_at,
        )

    def _record(self, actor: Principal, action: str, subject: str, detail: str) -> None:
        if self._audit is not None:
            self._audit.record(self._clock.now(), actor.username, action, subject, detail)


def _channel_type(value: str) -> ChannelType:
    try:
        return ChannelType(value)
    except ValueError:
        names = ", ".join(t.value for t in ChannelType)
        raise ValidationError(f"unknown channel type {value!r}; use one of {names}") from None


def _clip(text: str, limit: int) -> str:
    text = str(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_safe(document: Mapping[str, object]) -> dict[str, Any]:
    """``document`` as JSON can hold it (Decimals stay exact: the column tags them)."""
    try:
        json.dumps(document, default=str)
    except (TypeError, ValueError):
        return {"note": "the notification's data could not be stored"}
    return json.loads(json.dumps(document, default=str))  # type: ignore[no-any-return]


__all__ = [
    "DELIVER_KIND",
    "ChannelConfig",
    "ChannelView",
    "Notification",
    "NotificationService",
    "Severity",
]
