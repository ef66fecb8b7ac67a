"""``/market/data``, ``/market/recordings`` and ``/market/replays`` over real HTTP: a
download from the loopback exchange followed on ``/ws``, cancel, import, gaps, replay
controls and the roles that may use them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from task_station.venues.simulator.server import SimulatorServer
from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, login
from tests.marketdata.store_fixtures import BARS, START_MS, history_frame, simulator

__all__ = ["simulator"]  # the fixture, used by name

TIMEOUT = 30
SINCE = "2023-01-31T20:00:00Z"


@pytest.fixture
def station_settings(simulator: SimulatorServer) -> dict[str, Any]:
    return {"simulator_url": simulator.url}


async def _until(ws: Any, kind: str, state: str | None = None) -> list[dict[str, Any]]:
    heard = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message["type"] in ("download", "download_progress", "replay"):
            heard.append(message)
            if message["type"] == kind and state in (None, message["data"].get("state")):
                return heard


async def test_a_download_is_accepted_followed_on_ws_and_lands_in_the_inventory(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = bearer(token)
    async with websockets.connect(station.ws_url(token)) as ws:
        hello = json.loads(await ws.recv())
        assert "market_data" in hello["topics"]
        body = {"venue": "simulator", "symbol": "BTC/USDT", "timeframe": "1m", "since": SINCE}
        started = await client.post("/market/data/downloads", json=body, headers=auth)
        assert started.status_code == 202, started.text
        download_id = started.json()["id"]
        assert started.json()["state"] == "running"
        again = await client.post("/market/data/downloads", json=body, headers=auth)
        assert again.status_code == 409 and "already being downloaded" in again.json()["detail"]
        heard = await _until(ws, "download", "finished")
    progress = [m["data"] for m in heard if m["type"] == "download_progress"]
    assert progress and progress[-1]["done"] == BARS == progress[-1]["total"]
    assert {m["data"]["download_id"] for m in heard} == {download_id}
    job = (await client.get(f"/market/data/downloads/{download_id}", headers=auth)).json()
    assert (job["state"], job["bars_written"], job["progress"]) == ("finished", BARS, 1.0)
    [series] = (await client.get("/market/data/inventory", headers=auth)).json()
    assert (series["venue"], series["symbol"], series["timeframe"], series["rows"]) == (
        "simulator", "BTC/USDT", "1m", BARS,
    )  # fmt: skip
    query = {"venue": "simulator", "symbol": "BTC/USDT", "timeframe": "1m"}
    gaps = await client.get("/market/data/gaps", headers=auth, params=query)
    assert gaps.status_code == 200 and gaps.json() == []


async def test_a_slow_download_is_cancelled_and_keeps_what_it_fetched(
    station: Station, client: httpx.AsyncClient, simulator: SimulatorServer
) -> None:
    auth = bearer(await login(client, "admin", ADMIN_PASSWORD))
    simulator.set_faults("latency=300ms")
    body = {"venue": "simulator", "symbol": "BTC/USDT", "timeframe": "1m", "since": SINCE}
    started = (await client.post("/market/data/downloads", json=body, headers=auth)).json()
    cancelled = await client.post(f"/market/data/downloads/{started['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["bars_written"] < BARS
    again = await client.post(f"/market/data/downloads/{started['id']}/cancel", headers=auth)
    assert again.status_code == 409
    listed = (await client.get("/market/data/downloads", headers=auth)).json()
    assert [d["id"] for d in listed] == [started["id"]]
    naive = {**body, "since": "2023-01-31T20:00:00"}
    refused = await client.post("/market/data/downloads", json=naive, headers=auth)
    assert refused.status_code == 422 and "time zone" in refused.json()["detail"]


async def test_import_then_replay_with_controls_over_http(
    station: Station, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = bearer(token)
    path = tmp_path / "eth.csv"
    history_frame(120).drop(index=range(50, 60)).to_csv(path, index=False)
    body = {"path": str(path), "venue": "binance", "symbol": "ETH/USDT", "timeframe": "1m"}
    imported = await client.post("/market/data/import", json=body, headers=auth)
    assert imported.status_code == 200, imported.text
    assert imported.json()["rows"] == 110
    [series] = (await client.get("/market/data/inventory", headers=auth)).json()
    assert series["missing_bars"] == 10 and series["gaps"][0]["start_ms"] == START_MS + 50 * 60_000
    async with websockets.connect(station.ws_url(token)) as ws:
        await ws.recv()  # hello
        request = {"markets": ["binance:ETH/USDT"], "paused": True, "speed": 10}
        made = await client.post("/market/replays", headers=auth, json=request)
        assert made.status_code == 201, made.text
        replay = made.json()
        assert (replay["state"], replay["speed"], replay["published"]) == ("paused", 10.0, 0)
        url = f"/market/replays/{replay['id']}"
        stepped = (await client.post(f"{url}/step", json={"unit": "bar"}, headers=auth)).json()
        assert stepped["published"] == 1 and stepped["position"] == "2023-01-31T20:01:00Z"
        sought = await client.post(f"{url}/seek", json={"to": "2023-01-31T21:00:00Z"}, headers=auth)
        assert sought.json()["position"] == "2023-01-31T21:00:00Z"
        fast = await client.post(f"{url}/speed", json={"speed": None}, headers=auth)
        assert fast.json()["speed"] is None
        await client.post(f"{url}/resume", headers=auth)
        heard = await _until(ws, "replay", "finished")
    assert heard[-1]["data"]["progress"] == 1.0
    done = (await client.get(url, headers=auth)).json()
    assert (
        done["state"] == "finished" and done["published"] == 1 + 60
    )  # the bars closing from 21:00 on
    late = await client.post(f"{url}/pause", headers=auth)
    assert late.status_code == 409 and "start a new replay" in late.json()["detail"]
    unknown = await client.post(
        "/market/replays", headers=auth, json={"markets": ["binance:XRP/USDT"]}
    )
    assert unknown.status_code == 400 and "download or record it first" in unknown.json()["detail"]


async def test_viewers_read_but_may_not_start_anything(
    station: Station, client: httpx.AsyncClient
) -> None:
    station.add_user("vera", "viewer-password-1", "viewer")
    auth = bearer(await login(client, "vera", "viewer-password-1"))
    assert (await client.get("/market/data/inventory", headers=auth)).json() == []
    assert (await client.get("/market/replays", headers=auth)).json() == []
    assert (await client.get("/market/recordings", headers=auth)).json() == []
    body = {"venue": "simulator", "symbol": "BTC/USDT", "timeframe": "1m", "since": SINCE}
    assert (await client.post("/market/data/downloads", json=body, headers=auth)).status_code == 403
    recording = {"market": "simulator:BTC/USDT"}
    assert (
        await client.post("/market/recordings", json=recording, headers=auth)
    ).status_code == 403
    admin = bearer(await login(client, "admin", ADMIN_PASSWORD))
    started = await client.post(
        "/market/recordings", json={**recording, "book_depth": 5}, headers=admin
    )
    assert started.status_code == 201 and started.json()["book_depth"] == 5
    listed = (await client.get("/market/recordings", headers=auth)).json()
    assert [r["market"] for r in listed] == ["simulator:BTC/USDT"]
    stopped = await client.post("/market/recordings/stop", json=recording, headers=admin)
    assert (
        stopped.status_code == 200
        and (await client.get("/market/recordings", headers=auth)).json() == []
    )
    assert (await client.get("/market/data/inventory")).status_code == 401
