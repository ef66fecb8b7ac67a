"""Loopback stand-ins for the notification channels' far ends, on 127.0.0.1 only.

``HttpEndpoints`` is one aiohttp server playing Telegram's Bot API (``/bot<token>/
sendMessage``), a Discord webhook (``/discord/...``) and a generic webhook
(``/hook/...``); it records every request and can answer with planned failures.
``SmtpServer`` is aiosmtpd with AUTH over plain text (loopback only), recording what it
received and the credentials it was given.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawZ"
DISCORD_TOKEN = "dJ4w-discord-webhook-token-Xq9zPv7"
HOOK_TOKEN = "hook-path-token-7fa9c2e1b0"
SIGNING_KEY = "signing-key-9d8c7b6a5f4e3d2c"
SMTP_USER = "station@example.com"
SMTP_PASSWORD = "smtp-password-Gh7!kQ2"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpEndpoints:
    """What the server received; ``plan[service]`` (telegram, discord, hook) lists the
    statuses to answer first."""

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    plan: dict[str, list[int]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, service: str) -> list[Request]:
        return [r for r in self.requests if service_of(r.path) == service]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Request(request.path, dict(request.headers), body))
        service = service_of(request.path)
        planned = self.plan.get(service)
        if planned:
            return web.json_response({"ok": False, "description": "planned"}, status=planned.pop(0))
        if service == "telegram":
            return web.json_response({"ok": True, "result": {"message_id": len(self.requests)}})
        if service == "discord":
            return web.Response(status=204)
        return web.json_response({"received": True})


def service_of(path: str) -> str:
    """Which stand-in a path is for: telegram, discord or hook."""
    if path.startswith("/bot"):
        return "telegram"
    return "discord" if path.startswith("/discord/") else "hook"


@asynccontextmanager
async def http_endpoints() -> AsyncIterator[HttpEndpoints]:
    endpoints = HttpEndpoints()
    app = web.Application()
    app.router.add_post("/{tail:.*}", endpoints.handle)
    runner = web.AppRunner(app, access_log=None)  # its access log would print the tokens
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    endpoints.port = runner.addresses[0][1]
    try:
        yield endpoints
    finally:
        await runner.cleanup()


@dataclass
class SmtpServer:
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (SMTP_USER, SMTP_PASSWORD))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        authenticator=server.authenticate,
        auth_require_tls=False,  # loopback only: the station refuses this anywhere else
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
