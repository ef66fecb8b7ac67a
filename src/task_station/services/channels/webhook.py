"""A generic webhook: the notification as a JSON POST, optionally signed.

The URL is the channel's secret (``url``: it often carries a token); ``signing_key``, if
given, signs each delivery: the ``X-Task-Signature`` header (the name is the
``signature_header`` setting) is ``sha256=`` and the hex HMAC-SHA256 of
``<X-Task-Timestamp>.<body>`` under the key, so a receiver can check who sent it and
refuse replays. ``Idempotency-Key`` carries the notification's id: a delivery retried
after a lost answer can be recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any

from task_station.domain.errors import ValidationError
from task_station.domain.notifications import ChannelType
from task_station.services.channels.base import (
    Message,
    check_http_url,
    encode,
    only_known,
    post,
)

SIGNATURE_HEADER = "X-Task-Signature"
TIMESTAMP_HEADER = "X-Task-Timestamp"
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(key.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookChannel:
    type: ChannelType = ChannelType.WEBHOOK
    secrets: tuple[str, ...] = ("url", "signing_key")
    required_secrets: tuple[str, ...] = ("url",)

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        only_known(settings, {"signature_header"}, "webhook")
        header = str(settings.get("signature_header") or SIGNATURE_HEADER)
        if not _HEADER.match(header):
            raise ValidationError("signature_header must be a header name (letters, digits, -)")
        return {"signature_header": header}

    def check_secret(self, secret: Mapping[str, str]) -> None:
        check_http_url(secret.get("url", ""), "the webhook URL")
        key = secret.get("signing_key")
        if key is not None and len(key) < 16:
            raise ValidationError("a webhook signing key needs at least 16 characters")

    async def send(
        self, message: Message, settings: Mapping[str, Any], secret: Mapping[str, str]
    ) -> dict[str, Any]:
        body = encode(message.document())
        headers = {"Idempotency-Key": message.id}
        key = secret.get("signing_key")
        if key:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[str(settings.get("signature_header") or SIGNATURE_HEADER)] = sign(
                key, timestamp, body
            )
        response = await post(secret["url"], {}, what="the webhook", headers=headers, content=body)
        return {"status": response.status_code, "signed": bool(key)}
