"""Telegram: the Bot API's ``sendMessage`` to one chat.

The bot token is the channel's secret (``bot_token``); ``chat_id`` and ``api_base``
(default ``https://api.telegram.org``; tests and self-hosted Bot API servers point it
elsewhere) are settings. The token sits in the request's path, so it is registered
with the log scrubber and no error names the URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from task_station.domain.errors import ValidationError
from task_station.domain.notifications import ChannelType, NotificationDeliveryError
from task_station.services.channels.base import (
    Message,
    check_http_url,
    json_answer,
    only_known,
    post,
)

API_BASE = "https://api.telegram.org"
#: Telegram refuses longer messages.
MAX_TEXT = 4096
_TOKEN = re.compile(r"^[0-9]{3,20}:[A-Za-z0-9_-]{20,100}$")


class TelegramChannel:
    type: ChannelType = ChannelType.TELEGRAM
    secrets: tuple[str, ...] = ("bot_token",)
    required_secrets: tuple[str, ...] = ("bot_token",)

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        only_known(settings, {"chat_id", "api_base"}, "Telegram")
        chat = settings.get("chat_id")
        if isinstance(chat, bool) or not isinstance(chat, str | int) or not str(chat).strip():
            raise ValidationError(
                "Telegram needs chat_id: the chat's number (e.g. -1001234567890) or @channel"
            )
        base = str(settings.get("api_base") or API_BASE).rstrip("/")
        check_http_url(base, "Telegram api_base")
        return {"chat_id": str(chat).strip(), "api_base": base}

    def check_secret(self, secret: Mapping[str, str]) -> None:
        if not _TOKEN.match(secret.get("bot_token", "")):
            raise ValidationError(
                "the Telegram bot token does not look like one (digits:letters, as "
                "@BotFather gives it)"
            )

    async def send(
        self, message: Message, settings: Mapping[str, Any], secret: Mapping[str, str]
    ) -> dict[str, Any]:
        url = f"{settings['api_base']}/bot{secret['bot_token']}/sendMessage"
        body = {
            "chat_id": settings["chat_id"],
            "text": message.text()[:MAX_TEXT],
            "disable_web_page_preview": True,
        }
        answer = json_answer(await post(url, body, what="Telegram"))
        if answer.get("ok") is not True:
            raise NotificationDeliveryError(
                "Telegram did not confirm the message; it will be retried"
            )
        result = answer.get("result")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return {"message_id": message_id}
