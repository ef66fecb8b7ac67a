"""What every notification channel shares: the message, the adapter protocol, HTTP
posting with errors translated once, and the scrubbing of secrets from logs.

Adapters translate every failure into the station's error tree, naming the channel's
host but never its URL (a Discord or webhook URL carries its token, a Telegram URL the
bot token): ``NotificationDeliveryError`` for what another attempt may fix (network,
server errors, rate limits), ``ConfigurationError`` for what the trader must fix (a
refused token, a wrong chat id).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from task_station.domain.errors import ConfigurationError, ValidationError
from task_station.domain.notifications import (
    ChannelType,
    NotificationDeliveryError,
    Severity,
)

#: Seconds an HTTP channel waits for an answer.
HTTP_TIMEOUT = 15.0
_HTTP_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2")


@dataclass(frozen=True, slots=True)
class Message:
    """A notification as a channel sends it; ``suppressed`` counts the ones this
    channel's rate limit held back since its last delivery."""

    id: str
    kind: str
    severity: Severity
    title: str
    body: str
    ts: str
    data: dict[str, Any] = field(default_factory=dict)
    suppressed: int = 0

    def text(self) -> str:
        """Title, body and the rate limit's note, as plain text."""
        lines = [f"[{self.severity.label.upper()}] {self.title}"]
        if self.body:
            lines.append(self.body)
        if self.suppressed:
            lines.append(
                f"({self.suppressed} earlier notification(s) were held back by this "
                "channel's rate limit; see the station's notification feed)"
            )
        return "\n".join(lines)

    def document(self) -> dict[str, Any]:
        """The message as a JSON object (the generic webhook's body)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity.label,
            "title": self.title,
            "body": self.body,
            "ts": self.ts,
            "data": self.data,
            "suppressed": self.suppressed,
        }


class ChannelAdapter(Protocol):
    """One type of channel. ``secrets`` names the secret fields (``required_secrets``
    those without which it cannot send); they come from the vault, never the database."""

    type: ChannelType
    secrets: tuple[str, ...]
    required_secrets: tuple[str, ...]

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings, validated and with defaults (``ValidationError`` if wrong)."""
        ...

    def check_secret(self, secret: Mapping[str, str]) -> None:
        """Refuse a malformed secret (``ValidationError``) without echoing it."""
        ...

    async def send(
        self, message: Message, settings: Mapping[str, Any], secret: Mapping[str, str]
    ) -> dict[str, Any]:
        """Deliver ``message``; return a receipt (JSON) without secrets."""
        ...


def only_known(settings: Mapping[str, Any], known: set[str], channel: str) -> None:
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValidationError(
            f"unknown {channel} setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            " (secrets such as passwords, tokens and webhook URLs go in 'secret')"
        )


def check_http_url(url: str, what: str) -> None:
    """Refuse anything but an http(s) URL with a host; the URL is never echoed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{what} must be an http:// or https:// URL with a host")


def host_of(url: str) -> str:
    """The host (and port) of ``url``: what an error or a log may name."""
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or "the server"


# -- secrets out of the logs -------------------------------------------------------------


class SecretScrubber(logging.Filter):
    """Mask registered secret values in records of the HTTP client's loggers (httpx logs
    every request's URL at INFO, and a Telegram URL holds the bot token)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) >= 4:
            with self._lock:
                self._secrets.add(value)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        cleaned = self.scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


SCRUBBER = SecretScrubber()


def install_scrubber() -> None:
    """Put ``SCRUBBER`` on the HTTP client's loggers (idempotent)."""
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if SCRUBBER not in logger.filters:
            logger.addFilter(SCRUBBER)


def remember_secrets(secret: Mapping[str, str]) -> None:
    """Register a channel's secret values (and their URL paths) with the scrubber."""
    for value in secret.values():
        SCRUBBER.add(value)
        path = urlsplit(value).path if "://" in value else ""
        if len(path) > 8:
            SCRUBBER.add(path)


# -- HTTP ------------------------------------------------------------------------------


async def post(
    url: str,
    body: Mapping[str, Any],
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    timeout: float = HTTP_TIMEOUT,
) -> httpx.Response:
    """POST ``body`` as JSON to ``url``; a 2xx answer comes back, anything else raises
    with the host named (never the URL)."""
    host = host_of(url)
    data = content if content is not None else encode(body)
    sent = {"Content-Type": "application/json", "User-Agent": "TASK-Station"}
    sent.update(headers or {})
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(url, content=data, headers=sent)
    except httpx.TimeoutException:
        raise NotificationDeliveryError(
            f"{what}: {host} did not answer within {timeout:g} s; it will be retried"
        ) from None
    except httpx.HTTPError as exc:
        raise NotificationDeliveryError(
            f"{what}: could not reach {host} ({type(exc).__name__}); it will be retried"
        ) from None
    check_status(response, what, host)
    return response


def check_status(response: httpx.Response, what: str, host: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    phrase = f"{status} {response.reason_phrase}".strip()
    if status == 429 or status >= 500 or status == 408:
        raise NotificationDeliveryError(
            f"{what}: {host} answered {phrase} (busy or rate limited); it will be retried"
        )
    hint = {
        401: "check the channel's token",
        403: "check the channel's token and its permissions",
        404: "check the channel's URL or token",
    }.get(status, "check the channel's settings")
    raise ConfigurationError(f"{what}: {host} refused the message ({phrase}): {hint}")


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), default=str).encode("utf-8")


def json_answer(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
