"""Discord: a channel's incoming webhook.

The webhook URL holds the webhook's token, so the whole URL is the channel's secret
(``webhook_url``). Mentions are switched off: a notification must never ping
``@everyone``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from task_station.domain.errors import ValidationError
from task_station.domain.notifications import ChannelType
from task_station.services.channels.base import Message, check_http_url, only_known, post

#: Discord refuses longer contents.
MAX_CONTENT = 2000


class DiscordChannel:
    type: ChannelType = ChannelType.DISCORD
    secrets: tuple[str, ...] = ("webhook_url",)
    required_secrets: tuple[str, ...] = ("webhook_url",)

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        only_known(settings, {"username"}, "Discord")
        username = settings.get("username")
        if username is not None and (not isinstance(username, str) or len(username) > 80):
            raise ValidationError("the Discord username must be text of at most 80 characters")
        return {"username": username} if username else {}

    def check_secret(self, secret: Mapping[str, str]) -> None:
        check_http_url(secret.get("webhook_url", ""), "the Discord webhook URL")

    async def send(
        self, message: Message, settings: Mapping[str, Any], secret: Mapping[str, str]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "content": message.text()[:MAX_CONTENT],
            "allowed_mentions": {"parse": []},
        }
        if settings.get("username"):
            body["username"] = settings["username"]
        response = await post(secret["webhook_url"], body, what="Discord")
        return {"status": response.status_code}
