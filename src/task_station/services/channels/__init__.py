"""Notification channel adapters (HTTP and SMTP clients only), by channel type.

The desktop tray has no adapter here: the GUI shows the bus's ``NotificationRaised``.
"""

from __future__ import annotations

from task_station.domain.notifications import ChannelType
from task_station.services.channels.base import ChannelAdapter, Message
from task_station.services.channels.discord import DiscordChannel
from task_station.services.channels.smtp import EmailChannel
from task_station.services.channels.telegram import TelegramChannel
from task_station.services.channels.webhook import WebhookChannel

ADAPTERS: dict[ChannelType, ChannelAdapter] = {
    ChannelType.EMAIL: EmailChannel(),
    ChannelType.TELEGRAM: TelegramChannel(),
    ChannelType.DISCORD: DiscordChannel(),
    ChannelType.WEBHOOK: WebhookChannel(),
}

__all__ = ["ADAPTERS", "ChannelAdapter", "Message"]
