"""``/jobs`` over real loopback HTTP, with the job's progress and end on ``/ws``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from keyrings.cryptfile.cryptfile import CryptFileKeyring

from task_station.jobs.queue import JobContext
from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, login

TIMEOUT = 15.0


@pytest.fixture(autouse=True)
def cheap_vault_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vault's Argon2 at a test cost (each read or write takes seconds at the real one)."""
    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 1024)


async def _recv_until(ws: Any, wanted: str, job_id: str) -> list[dict[str, Any]]:
    """Job messages for ``job_id``, in order, up to the first whose state is ``wanted``."""
    heard: list[dict[str, Any]] = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message["type"] in ("job", "job_progress") and message["data"]["job_id"] == job_id:
            heard.append(message)
            if message["type"] == "job" and message["data"]["state"] == wanted:
                return heard


async def test_job_is_listed_followed_on_ws_and_cancelled_over_http(
    station: Station, client: httpx.AsyncClient
) -> None:
    halfway = asyncio.Event()

    async def download(ctx: JobContext) -> None:
        ctx.progress(5, 10, "BTC/USDT 2026-06")
        halfway.set()
        await asyncio.Event().wait()  # until cancelled

    jobs = station.services.jobs
    jobs.register("data.download", download)
    jobs.start()
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = bearer(token)
    async with websockets.connect(station.ws_url(token)) as ws:
        hello = json.loads(await ws.recv())
        assert {"job", "notification"} <= set(hello["topics"])
        job = jobs.enqueue("data.download", {"symbol": "BTC/USDT"}, title="Download BTC/USDT")
        await asyncio.wait_for(halfway.wait(), TIMEOUT)
        listed = await client.get("/jobs", params={"state": "active"}, headers=auth)
        assert listed.status_code == 200, listed.text
        assert [(j["id"], j["state"]) for j in listed.json()] == [(job.id, "running")]
        detail = (await client.get(f"/jobs/{job.id}", headers=auth)).json()
        assert (detail["title"], detail["payload"]) == ("Download BTC/USDT", {"symbol": "BTC/USDT"})
        cancelled = await client.post(f"/jobs/{job.id}/cancel", headers=auth)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled"
        heard = await _recv_until(ws, "cancelled", job.id)
    kinds = [(m["type"], m["data"].get("state") or m["data"].get("message")) for m in heard]
    assert kinds == [
        ("job", "queued"),
        ("job", "running"),
        ("job_progress", "BTC/USDT 2026-06"),
        ("job", "cancelled"),
    ]
    again = await client.post(f"/jobs/{job.id}/cancel", headers=auth)
    assert again.status_code == 409
    assert "already ended" in again.json()["detail"]
    missing = await client.get("/jobs/no-such-job", headers=auth)
    assert missing.status_code == 404
    bad = await client.get("/jobs", params={"state": "sleeping"}, headers=auth)
    assert bad.status_code == 422 and "unknown job state" in bad.json()["detail"]


async def test_viewer_reads_jobs_but_may_not_cancel(
    station: Station, client: httpx.AsyncClient
) -> None:
    station.add_user("vera", "viewer-password-1", "viewer")
    job = station.services.jobs.enqueue("report.daily", title="Daily report", delay=60)
    auth = bearer(await login(client, "vera", "viewer-password-1"))
    assert [j["id"] for j in (await client.get("/jobs", headers=auth)).json()] == [job.id]
    refused = await client.post(f"/jobs/{job.id}/cancel", headers=auth)
    assert refused.status_code == 403
    assert (await client.get("/jobs")).status_code == 401
