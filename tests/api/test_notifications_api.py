"""``/notifications`` over real loopback HTTP: channels with write-only secrets, test
messages through the job queue to a loopback webhook, the feed, and ``/ws``."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from keyrings.cryptfile.cryptfile import CryptFileKeyring

from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, login
from tests.support.loopback_notify import HOOK_TOKEN, SIGNING_KEY, HttpEndpoints, http_endpoints

TIMEOUT = 15.0


@pytest.fixture(autouse=True)
def cheap_vault_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vault's Argon2 at a test cost (each read or write takes seconds at the real one)."""
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)


@pytest.fixture
async def endpoints() -> AsyncIterator[HttpEndpoints]:
    async with http_endpoints() as served:
        yield served


def channel_body(endpoints: HttpEndpoints, **changes: Any) -> dict[str, Any]:
    secret = {"url": endpoints.url(f"/hook/{HOOK_TOKEN}"), "signing_key": SIGNING_KEY}
    return {"type": "webhook", "kinds": ["bot.*"], "min_severity": "warning",
            "secret": secret, **changes}  # fmt: skip


async def test_channel_secret_is_write_only_and_test_message_arrives(
    station: Station,
    client: httpx.AsyncClient,
    endpoints: HttpEndpoints,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    station.services.jobs.start()
    auth = bearer(await login(client, "admin", ADMIN_PASSWORD))
    put = await client.put(
        "/notifications/channels/ops", json=channel_body(endpoints), headers=auth
    )
    assert put.status_code == 200, put.text
    assert put.json()["secrets_set"] == ["signing_key", "url"]
    listed = await client.get("/notifications/channels", headers=auth)
    assert [c["name"] for c in listed.json()] == ["ops"]
    tested = await client.post("/notifications/channels/ops/test", headers=auth)
    assert tested.status_code == 202, tested.text
    job = await station.services.jobs.wait(tested.json()["id"], TIMEOUT)
    assert job.state.value == "succeeded"
    [request] = endpoints.to("hook")
    assert request.json()["title"] == "Test notification from TASK Station"
    detail = await client.get(f"/jobs/{job.id}", headers=auth)
    answers = put.text + listed.text + tested.text + detail.text
    logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp"))
    for secret in (HOOK_TOKEN, SIGNING_KEY):
        assert secret not in answers
        assert secret not in logs


async def test_bad_channel_is_refused_without_echoing_its_secret(
    station: Station, client: httpx.AsyncClient, endpoints: HttpEndpoints
) -> None:
    auth = bearer(await login(client, "admin", ADMIN_PASSWORD))
    planted = "ftp://not-a-webhook/with-token-0xDEADBEEF"
    refused = await client.put(
        "/notifications/channels/ops",
        json=channel_body(endpoints, secret={"url": planted}),
        headers=auth,
    )
    assert refused.status_code == 422
    assert "must be an http:// or https:// URL" in refused.json()["detail"]
    assert "DEADBEEF" not in refused.text
    station.add_user("tina", "trader-password-1", "trader")
    trader = bearer(await login(client, "tina", "trader-password-1"))
    denied = await client.put(
        "/notifications/channels/ops", json=channel_body(endpoints), headers=trader
    )
    assert denied.status_code == 403


async def test_feed_over_http_and_ws_and_marked_read(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = bearer(token)
    async with websockets.connect(station.ws_url(token)) as ws:
        json.loads(await ws.recv())  # hello
        await station.services.notifications.notify(
            "task.failed", "Task nightly-report failed", "the venue timed out",
            data={"task": "nightly-report"}, severity="error",
        )  # fmt: skip
        while (message := json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))["type"] != (
            "notification"
        ):
            pass
    assert message["data"]["title"] == "Task nightly-report failed"
    assert message["data"]["severity"] == "error"
    feed = (await client.get("/notifications", params={"unread": "true"}, headers=auth)).json()
    assert [(n["kind"], n["read"], n["data"]) for n in feed] == [
        ("task.failed", False, {"task": "nightly-report"})
    ]
    marked = await client.post("/notifications/read", json={"ids": [feed[0]["id"]]}, headers=auth)
    assert marked.json() == {"marked": 1}
    assert (
        await client.get("/notifications", params={"unread": "true"}, headers=auth)
    ).json() == []
