"""Email over SMTP (the standard library's ``smtplib``, run in a thread).

Settings: ``host``, ``port`` (587), ``security`` (``starttls``, ``ssl`` or ``none``),
``username``, ``sender``, ``recipients`` (a list) and ``timeout``. The password is the
channel's secret (``password``). A password is never sent over an unencrypted
connection to anything but this machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from task_station.domain.errors import ConfigurationError, ValidationError
from task_station.domain.notifications import ChannelType, NotificationDeliveryError
from task_station.services.channels.base import Message, only_known

SECURITY = ("starttls", "ssl", "none")
_KNOWN = {"host", "port", "security", "username", "sender", "recipients", "timeout"}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _address(value: object, what: str) -> str:
    text = str(value or "").strip()
    if "@" not in text or any(c in text for c in "\r\n,;") or len(text) > 254:
        raise ValidationError(f"{what} must be one email address, like trader@example.com")
    return text


class EmailChannel:
    type: ChannelType = ChannelType.EMAIL
    secrets: tuple[str, ...] = ("password",)
    required_secrets: tuple[str, ...] = ()

    def check_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        only_known(settings, _KNOWN, "email")
        host = str(settings.get("host") or "").strip()
        if not host or any(c in host for c in "/: "):
            raise ValidationError("email needs the SMTP server's host name, e.g. smtp.example.com")
        security = str(settings.get("security") or "starttls")
        if security not in SECURITY:
            raise ValidationError(f"security must be one of {', '.join(SECURITY)}")
        default_port = 465 if security == "ssl" else 587
        port = settings.get("port", default_port)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValidationError("port must be a TCP port number (1-65535)")
        recipients = settings.get("recipients")
        if isinstance(recipients, str):
            recipients = [recipients]
        if not isinstance(recipients, list) or not recipients:
            raise ValidationError('recipients must be a list of addresses, like ["me@example.com"]')
        timeout = settings.get("timeout", 15)
        if not isinstance(timeout, int | float) or not 1 <= timeout <= 120:
            raise ValidationError("timeout must be 1 to 120 seconds")
        username = settings.get("username")
        return {
            "host": host,
            "port": port,
            "security": security,
            "username": str(username).strip() if username else None,
            "sender": _address(settings.get("sender"), "sender"),
            "recipients": [_address(r, "each recipient") for r in recipients],
            "timeout": float(timeout),
        }

    def check_secret(self, secret: Mapping[str, str]) -> None:
        password = secret.get("password")
        if password is not None and not password:
            raise ValidationError("the SMTP password is empty")

    async def send(
        self, message: Message, settings: Mapping[str, Any], secret: Mapping[str, str]
    ) -> dict[str, Any]:
        password = secret.get("password")
        username = settings.get("username")
        if username and not password:
            raise ConfigurationError(
                f"email channel: {username} has no SMTP password in the vault; set the "
                "channel's secret"
            )
        if password and settings["security"] == "none" and not _is_loopback(settings["host"]):
            raise ConfigurationError(
                "email channel: the SMTP password would travel unencrypted; use "
                "security starttls or ssl"
            )
        email = _email(message, settings)
        await asyncio.to_thread(_deliver, email, settings, username, password)
        return {"recipients": len(settings["recipients"]), "message_id": email["Message-ID"]}


def _email(message: Message, settings: Mapping[str, Any]) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = f"[TASK Station] {message.title}"[:200]
    email["From"] = settings["sender"]
    email["To"] = ", ".join(settings["recipients"])
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = f"<{message.id}@task-station>"  # a retried send has the same id
    email.set_content(message.text())
    return email


def _deliver(
    email: EmailMessage, settings: Mapping[str, Any], username: str | None, password: str | None
) -> None:
    host, port, timeout = settings["host"], settings["port"], settings["timeout"]
    where = f"{host}:{port}"
    try:
        if settings["security"] == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings["security"] == "starttls":
                client.starttls(context=ssl.create_default_context())
            if username and password:
                client.login(username, password)
            client.send_message(email)
    except smtplib.SMTPAuthenticationError:
        raise ConfigurationError(
            f"email channel: {where} refused the login of {username}: check the user and "
            "the SMTP password"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise ConfigurationError(
            f"email channel: {where} does not offer what the channel asks (STARTTLS or "
            "AUTH); check security and username"
        ) from None
    except smtplib.SMTPRecipientsRefused:
        raise ConfigurationError(
            f"email channel: {where} refused every recipient; check the addresses"
        ) from None
    except smtplib.SMTPSenderRefused:
        raise ConfigurationError(
            f"email channel: {where} refused the sender address; check sender"
        ) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise NotificationDeliveryError(
            f"email channel: could not send through {where} ({type(exc).__name__}); it "
            "will be retried"
        ) from None
