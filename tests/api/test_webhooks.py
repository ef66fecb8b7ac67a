"""``POST /webhooks/{hook_id}`` over real HTTP on loopback: the same TradingView alert
posted twice (or at the same moment) places ONE order; a wrong secret, a stale time, a
malformed body or a bad signature is refused with a clear error and changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from task_station.domain.bots import BotDefinition
from task_station.domain.orders import OrderStatus
from task_station.domain.tasks import RunStatus, Task
from task_station.security.vault import SecretsVault
from tests.automation.support import (
    Station,
    open_station,
    served,
    shared_vault_fixture,  # noqa: F401 - a fixture
    until,
)

SECRET = "tv-alert-secret-4f8a2c9e"


@dataclass
class Hooked:
    station: Station
    client: httpx.AsyncClient
    bot: BotDefinition
    task: Task

    @property
    def path(self) -> str:
        return f"/webhooks/{self.task.triggers[0].hook_id}"

    def orders(self) -> list[Any]:
        return self.station.services.orders.list(bot_id=self.bot.id)

    def runs(self) -> list[Any]:
        return self.station.services.tasks.runs(self.task.id)


@pytest.fixture
async def hooked(tmp_path: Path, shared_vault: SecretsVault) -> AsyncIterator[Hooked]:
    station = open_station(tmp_path / "station", shared_vault, settings={"demo_pace_seconds": 0.01})
    try:
        bot = station.bot(control_mode="manual")
        await station.services.bots.start(station.admin, bot.id)
        task = station.services.tasks.create(
            station.admin,
            name="tradingview",
            triggers=[{"kind": "webhook", "config": {"secret": SECRET, "max_age_seconds": 60}}],
            actions=[{"kind": "place_order", "config": {"bot_id": bot.id}}],
        )
        async with served(station) as client:
            yield Hooked(station, client, bot, task)
    finally:
        await station.container.aclose()


def alert(**changes: Any) -> dict[str, Any]:
    body = {
        "secret": SECRET,
        "action": "buy",
        "ticker": "BINANCE:BTCUSDT",
        "qty": "0.01",
        "price": "64000",
        "time": datetime.now(UTC).isoformat(),
    }
    body.update(changes)
    return body


async def test_the_same_alert_posted_twice_places_one_order(hooked: Hooked) -> None:
    body = json.dumps(alert())
    began = time.monotonic()
    first = await hooked.client.post(hooked.path, content=body)
    assert time.monotonic() - began < 3  # TradingView waits 3 s at most
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted" and isinstance(first.json()["run_id"], int)
    again = await hooked.client.post(hooked.path, content=body)
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "run_id": None}
    await until(lambda: bool(hooked.runs()) and hooked.runs()[0].status.ended, 10, "the run")
    run = hooked.runs()[0]
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.cause == "webhook" and run.payload is not None and "secret" not in run.payload
    orders = hooked.orders()
    assert len(orders) == 1 and orders[0].quantity is not None
    assert (orders[0].side.value, str(orders[0].quantity)) == ("buy", "0.01")
    await until(lambda: hooked.orders()[0].status is OrderStatus.FILLED, 10, "the fill")


async def test_concurrent_deliveries_of_one_alert_place_one_order(hooked: Hooked) -> None:
    body = json.dumps(alert(qty="0.02"))
    answers = await asyncio.gather(
        *(hooked.client.post(hooked.path, content=body) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 202]
    await until(lambda: bool(hooked.runs()) and hooked.runs()[0].status.ended, 10, "the run")
    assert len(hooked.runs()) == 1 and len(hooked.orders()) == 1


async def test_refused_alerts_change_nothing_and_say_why(
    hooked: Hooked, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    post = hooked.client.post
    wrong = await post(hooked.path, content=json.dumps(alert(secret="not-the-secret-at-all")))
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "AuthenticationError",
        "detail": "wrong or missing secret in the alert",
    }
    old = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    stale = await post(hooked.path, content=json.dumps(alert(time=old)))
    assert stale.status_code == 422 and "the alert is stale" in stale.json()["detail"]
    untimed = {k: v for k, v in alert().items() if k != "time"}
    no_time = await post(hooked.path, content=json.dumps(untimed))
    assert no_time.status_code == 422 and "{{timenow}}" in no_time.json()["detail"]
    malformed = await post(hooked.path, content=b'{"secret": "' + SECRET.encode() + b'", "qty": ')
    assert malformed.status_code == 422 and "not valid JSON" in malformed.json()["detail"]
    unknown = await post("/webhooks/no-such-hook-here", content=json.dumps(alert()))
    assert unknown.status_code == 404
    forged = await post(
        hooked.path, content=json.dumps(alert(secret=None)), headers={"X-Signature": "sha256=00ff"}
    )
    assert forged.status_code == 401 and "signature" in forged.json()["detail"]
    assert hooked.runs() == [] and hooked.orders() == []
    answers = " ".join(a.text for a in (wrong, stale, no_time, malformed, unknown, forged))
    assert SECRET not in answers and SECRET not in caplog.text


async def test_signed_text_alert_is_accepted_and_a_disabled_task_refuses(hooked: Hooked) -> None:
    stamp = int(datetime.now(UTC).timestamp())
    body = f"action=sell qty=0.005 time={stamp}".encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    signed = await hooked.client.post(
        hooked.path, content=body, headers={"X-Signature": f"sha256={signature}"}
    )
    assert signed.status_code == 202, signed.text
    await until(lambda: bool(hooked.runs()) and hooked.runs()[0].status.ended, 10, "the run")
    run = hooked.runs()[0]
    assert run.payload is not None and run.payload["format"] == "text"
    # the bot holds no BTC: the sell is refused by the pre-trade check, and the run says so
    assert run.status is RunStatus.FAILED and "denied" in (run.error or "")
    services = hooked.station.services
    services.tasks.set_enabled(hooked.station.admin, hooked.task.id, False)
    disabled = await hooked.client.post(hooked.path, content=json.dumps(alert(qty="0.03")))
    assert disabled.status_code == 409 and "is disabled" in disabled.json()["detail"]
    assert len(hooked.runs()) == 1
