"""Notifications over real parts: the SQLite feed, the encrypted-file vault, the job
queue, and loopback servers standing in for SMTP, Telegram, Discord and a webhook.

The vault's Argon2 cost is lowered for these tests only (``cheap_vault_kdf``): at its
real cost every secret read or write takes seconds on the CI machine.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from keyrings.cryptfile.cryptfile import CryptFileKeyring

from task_station.domain.clock import SystemClock
from task_station.domain.errors import PermissionDeniedError, ValidationError
from task_station.domain.events import Event
from task_station.domain.jobs import JobState, backoff_delay
from task_station.domain.notifications import NotificationRaised, Route, Severity, TokenBucket
from task_station.domain.users import Role
from task_station.engine.bus import EventBus
from task_station.jobs.queue import JobQueue
from task_station.persistence import Database
from task_station.persistence.jobs import SqlJobStore
from task_station.persistence.notifications import SqlNotificationStore
from task_station.security.vault import SecretsVault
from task_station.services.jobs import JobService
from task_station.services.notifications import DELIVER_KIND, NotificationService
from task_station.services.principal import SYSTEM, Principal
from tests.persistence.conftest import make_database
from tests.support.loopback_notify import (
    DISCORD_TOKEN,
    HOOK_TOKEN,
    SIGNING_KEY,
    SMTP_PASSWORD,
    SMTP_USER,
    TELEGRAM_TOKEN,
    HttpEndpoints,
    SmtpServer,
    http_endpoints,
    smtp_server,
)

TIMEOUT = 15.0
SECRETS = (TELEGRAM_TOKEN, DISCORD_TOKEN, HOOK_TOKEN, SIGNING_KEY, SMTP_PASSWORD)
TRADER = Principal("u2", "tina", Role.TRADER)


@pytest.fixture
def cheap_vault_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)


class FakeTime:
    """The rate limits' clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Station:
    database: Database
    service: NotificationService
    jobs: JobService
    time: FakeTime
    heard: list[Event]

    def deliveries(self) -> list[Any]:
        return self.jobs.list(kind=DELIVER_KIND, limit=500)

    async def delivered(self) -> list[Any]:
        """Every delivery job, once each ended."""
        return [await self.jobs.wait(job.id, TIMEOUT) for job in self.deliveries()]


@pytest.fixture
async def station(
    tmp_path: Path, request: pytest.FixtureRequest, cheap_vault_kdf: None
) -> AsyncIterator[Station]:
    vault = SecretsVault(tmp_path / "vault", "cryptfile")
    vault.unlock("test-vault-password")
    bus = EventBus()
    heard: list[Event] = []
    bus.subscribe(NotificationRaised, heard.append)
    with make_database("sqlite", tmp_path, request) as database:
        store = SqlJobStore.on(database)
        jobs = JobService(JobQueue(store, bus, SystemClock(), poll_seconds=0.05), store)
        clock = FakeTime()
        service = NotificationService(
            SqlNotificationStore.on(database), vault, jobs, bus, SystemClock(),
            monotonic=clock, retry_backoff=0.05,
        )  # fmt: skip
        try:
            yield Station(database, service, jobs, clock, heard)
        finally:
            await jobs.stop()


@pytest.fixture
async def endpoints() -> AsyncIterator[HttpEndpoints]:
    async with http_endpoints() as served:
        yield served


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def add_webhook(
    station: Station, endpoints: HttpEndpoints, name: str = "hook", **rule: Any
) -> None:
    station.service.set_channel(
        SYSTEM, name, type="webhook", settings={},
        secret={"url": endpoints.url(f"/hook/{HOOK_TOKEN}"), "signing_key": SIGNING_KEY},
        **rule,
    )  # fmt: skip


def add_all_channels(station: Station, endpoints: HttpEndpoints, smtp: SmtpServer) -> None:
    service = station.service
    service.set_channel(
        SYSTEM, "mail", type="email",
        settings={"host": "127.0.0.1", "port": smtp.port, "security": "none",
                  "username": SMTP_USER, "sender": SMTP_USER,
                  "recipients": ["trader@example.com"]},
        secret={"password": SMTP_PASSWORD},
    )  # fmt: skip
    service.set_channel(
        SYSTEM, "tg", type="telegram",
        settings={"chat_id": "-1001234567890", "api_base": endpoints.url("")},
        secret={"bot_token": TELEGRAM_TOKEN},
    )  # fmt: skip
    service.set_channel(
        SYSTEM, "discord", type="discord", settings={"username": "TASK Station"},
        secret={"webhook_url": endpoints.url(f"/discord/api/webhooks/42/{DISCORD_TOKEN}")},
    )  # fmt: skip
    add_webhook(station, endpoints)


async def test_every_channel_delivers_to_its_loopback_server(
    station: Station, endpoints: HttpEndpoints, smtp: SmtpServer
) -> None:
    add_all_channels(station, endpoints, smtp)
    station.jobs.start()
    await station.service.notify(
        "bot.stopped", "Bot grid-1 stopped", "It hit its daily loss limit.",
        data={"bot_id": "b1"}, severity="warning",
    )  # fmt: skip
    ended = await station.delivered()
    assert sorted(job.payload["channel"] for job in ended) == ["discord", "hook", "mail", "tg"]
    assert {job.state for job in ended} == {JobState.SUCCEEDED}

    assert smtp.logins == [(SMTP_USER, SMTP_PASSWORD)]
    [mail] = smtp.messages
    assert mail["Subject"] == "[TASK Station] Bot grid-1 stopped"
    assert "It hit its daily loss limit." in mail.get_payload()
    assert smtp.envelopes[0][1] == ["trader@example.com"]

    [telegram] = endpoints.to("telegram")
    assert telegram.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert telegram.json()["chat_id"] == "-1001234567890"
    assert telegram.json()["text"].startswith("[WARNING] Bot grid-1 stopped\n")

    [discord] = endpoints.to("discord")
    assert discord.json()["allowed_mentions"] == {"parse": []}
    assert discord.json()["username"] == "TASK Station"

    [hook] = endpoints.to("hook")
    document = hook.json()
    assert (document["kind"], document["severity"], document["data"]) == (
        "bot.stopped", "warning", {"bot_id": "b1"}
    )  # fmt: skip
    signed = hook.headers["X-Task-Timestamp"].encode() + b"." + hook.body
    expected = hmac.new(SIGNING_KEY.encode(), signed, hashlib.sha256).hexdigest()
    assert hook.headers["X-Task-Signature"] == f"sha256={expected}"
    assert hook.headers["Idempotency-Key"] == document["id"]


async def test_routing_sends_each_kind_and_severity_to_its_channels(
    station: Station, endpoints: HttpEndpoints
) -> None:
    add_webhook(station, endpoints, "bots", kinds=["bot.*"], min_severity="warning")
    add_webhook(station, endpoints, "tasks", kinds=["task.failed", "task.done"])
    add_webhook(station, endpoints, "alarms", min_severity="error")
    notify = station.service.notify
    await notify("bot.started", "Bot a started", "", severity="info")  # nobody
    await notify("bot.stopped", "Bot a stopped", "", severity="warning")  # bots
    await notify("task.failed", "Task t failed", "", severity="error")  # tasks, alarms
    await notify("risk.breach", "Kill switch", "", severity="critical")  # alarms
    routed = sorted(
        (job.payload["channel"], station.service.get(job.payload["notification_id"]).title)
        for job in station.deliveries()
    )
    assert routed == [
        ("alarms", "Kill switch"),
        ("alarms", "Task t failed"),
        ("bots", "Bot a stopped"),
        ("tasks", "Task t failed"),
    ]
    assert len(station.service.list()) == 4  # every one is in the feed


async def test_rate_limit_drops_excess_and_next_delivery_reports_count(
    station: Station, endpoints: HttpEndpoints
) -> None:
    add_webhook(station, endpoints, rate_per_minute=6, burst=2)  # a token every 10 s
    for n in range(5):
        await station.service.notify("bot.fill", f"Fill {n}", "")
    assert len(station.deliveries()) == 2
    assert station.service.channel("hook").suppressed == 3
    station.time.now += 10.0  # one token back
    await station.service.notify("bot.fill", "Fill 5", "")
    station.jobs.start()
    ended = await station.delivered()
    assert {job.state for job in ended} == {JobState.SUCCEEDED}
    titles = [(r.json()["title"], r.json()["suppressed"]) for r in endpoints.to("hook")]
    assert sorted(titles) == [("Fill 0", 0), ("Fill 1", 0), ("Fill 5", 3)]


async def test_failing_endpoint_is_retried_with_backoff_until_it_answers(
    station: Station, endpoints: HttpEndpoints
) -> None:
    add_webhook(station, endpoints)
    endpoints.plan["hook"] = [503, 502]
    station.jobs.start()
    await station.service.notify("task.failed", "Task t failed", "boom")
    [job] = await station.delivered()
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 3)
    assert len(endpoints.to("hook")) == 3
    assert len({r.headers["Idempotency-Key"] for r in endpoints.to("hook")}) == 1


async def test_refused_token_fails_at_once_without_naming_it(
    station: Station, endpoints: HttpEndpoints
) -> None:
    station.service.set_channel(
        SYSTEM, "tg", type="telegram",
        settings={"chat_id": "42", "api_base": endpoints.url("")},
        secret={"bot_token": TELEGRAM_TOKEN},
    )  # fmt: skip
    endpoints.plan["telegram"] = [401]
    station.jobs.start()
    await station.service.notify("bot.stopped", "Bot a stopped", "")
    [job] = await station.delivered()
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert job.error == (
        f"Telegram: 127.0.0.1:{endpoints.port} refused the message (401 Unauthorized): "
        "check the channel's token"
    )


async def test_planted_secrets_reach_no_log_row_view_or_error(
    station: Station,
    endpoints: HttpEndpoints,
    smtp: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    add_all_channels(station, endpoints, smtp)
    endpoints.plan["discord"] = [500]  # one failed attempt's error is stored too
    station.jobs.start()
    await station.service.notify("bot.stopped", "Bot a stopped", "details")
    ended = await station.delivered()
    assert {job.state for job in ended} == {JobState.SUCCEEDED}
    test_job = station.service.test_channel(SYSTEM, "tg")
    assert (await station.jobs.wait(test_job.id, TIMEOUT)).state is JobState.SUCCEEDED

    station_logs = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("mail.log", "aiohttp"))
    )
    assert "/bot***/sendMessage" in station_logs  # httpx logged the request, scrubbed
    with sqlite3.connect(station.database.engine.url.database or "") as raw:
        dump = "\n".join(raw.iterdump())
    views = repr(station.service.channels()) + repr([station.jobs.get(j.id) for j in ended])
    for secret in SECRETS:
        assert secret not in station_logs
        assert secret not in dump
        assert secret not in views
    assert station.service.channel("mail").secrets_set == ("password",)
    assert station.service.channel("hook").secrets_set == ("signing_key", "url")


async def test_feed_keeps_notifications_until_read_and_tray_follows_desktop_rule(
    station: Station,
) -> None:
    await station.service.notify("bot.fill", "Filled", "0.1 BTC at 97000")
    station.service.set_channel(SYSTEM, "tray", type="desktop", min_severity="warning")
    await station.service.notify("bot.fill", "Filled again", "")
    await station.service.notify("risk.breach", "Daily loss hit", "", severity="error")
    assert [(e.title, e.desktop) for e in station.heard] == [  # type: ignore[attr-defined]
        ("Filled", True), ("Filled again", False), ("Daily loss hit", True)
    ]  # fmt: skip
    feed = station.service.list()
    assert [n.title for n in feed] == ["Daily loss hit", "Filled again", "Filled"]
    assert station.service.unread_count() == 3
    assert station.service.mark_read([feed[0].id]) == 1
    assert [n.title for n in station.service.list(unread_only=True)] == ["Filled again", "Filled"]
    assert station.service.mark_read() == 2 and station.service.unread_count() == 0


async def test_channel_configuration_is_checked_and_admin_only(
    station: Station, endpoints: HttpEndpoints
) -> None:
    service = station.service
    with pytest.raises(PermissionDeniedError):
        service.set_channel(TRADER, "hook", type="webhook", secret={"url": endpoints.url("/h")})
    with pytest.raises(ValidationError, match="needs the secret url"):
        service.set_channel(SYSTEM, "hook", type="webhook")
    with pytest.raises(ValidationError, match="unknown webhook setting"):
        service.set_channel(
            SYSTEM,
            "hook",
            type="webhook",
            settings={"url": "x"},
            secret={"url": endpoints.url("/h")},
        )
    with pytest.raises(ValidationError, match="unknown severity"):
        service.set_channel(SYSTEM, "tray", type="desktop", min_severity="loud")
    add_webhook(station, endpoints)
    kept = service.set_channel(SYSTEM, "hook", type="webhook", kinds=["bot.*"])  # secret kept
    assert kept.secrets_set == ("signing_key", "url") and kept.kinds == ("bot.*",)
    service.delete_channel(SYSTEM, "hook")
    assert service.channels() == []


def test_token_bucket_allows_burst_then_refills_at_rate() -> None:
    bucket = TokenBucket(rate_per_minute=30, burst=2, now=0.0)  # a token every 2 s
    assert [bucket.take(0.0) for _ in range(3)] == [True, True, False]
    assert not bucket.take(1.0)
    assert bucket.take(2.5) and not bucket.take(2.5)
    assert bucket.drain_suppressed() == 3 and bucket.suppressed == 0
    assert [bucket.take(1000.0) for _ in range(3)] == [True, True, False]  # capped at burst


def test_route_matches_kind_patterns_and_minimum_severity() -> None:
    route = Route(("bot.*", "task.failed"), Severity.WARNING)
    assert route.accepts("bot.stopped", Severity.ERROR)
    assert route.accepts("task.failed", Severity.WARNING)
    assert not route.accepts("bot.stopped", Severity.INFO)
    assert not route.accepts("task.done", Severity.CRITICAL)
    assert Route().accepts("anything", Severity.INFO)


def test_backoff_doubles_from_base_up_to_cap() -> None:
    delays = [backoff_delay(n, base=2.0, cap=20.0).total_seconds() for n in range(1, 6)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 20.0]
