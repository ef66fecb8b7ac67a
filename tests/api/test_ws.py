"""The /ws event stream over a real loopback WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.api.helpers import ADMIN_PASSWORD, Station, bot_body, login

TIMEOUT = 30.0


async def _recv(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert isinstance(message, dict)
    return message


async def _recv_type(ws: Any, kind: str) -> dict[str, Any]:
    while (message := await _recv(ws))["type"] != kind:
        pass
    return message


async def _expect_policy_close(ws: Any) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_ws_bad_token_closes_with_4401(station: Station) -> None:
    async with websockets.connect(station.ws_url("forged.token.value")) as ws:
        await _expect_policy_close(ws)


async def test_ws_without_token_and_garbage_message_closes_with_4401(station: Station) -> None:
    async with websockets.connect(station.ws_url()) as ws:
        await ws.send("hello?")
        await _expect_policy_close(ws)


async def test_ws_token_as_first_message_returns_hello(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    async with websockets.connect(station.ws_url()) as ws:
        await ws.send(json.dumps({"token": token}))
        hello = await _recv(ws)
    assert hello["type"] == "hello"
    assert hello["user"] == {"username": "admin", "role": "admin"}
    assert "bars" not in hello["topics"]


async def test_ws_bars_subscribed_returns_bar_messages(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    bot_id = (await client.post("/bots", json=bot_body(), headers=auth)).json()["id"]
    async with websockets.connect(station.ws_url(token)) as ws:
        await _recv_type(ws, "hello")
        await ws.send(json.dumps({"subscribe": ["bars"]}))
        ack = await _recv_type(ws, "subscribed")
        assert "bars" in ack["topics"]
        assert (await client.post(f"/bots/{bot_id}/start", headers=auth)).status_code == 200
        bar = await _recv_type(ws, "bar")
    assert bar["data"]["bot_id"] == bot_id
    assert isinstance(bar["data"]["candle"]["close"], str)


async def test_ws_unknown_topic_returns_error_message(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    async with websockets.connect(station.ws_url(token)) as ws:
        await _recv_type(ws, "hello")
        await ws.send(json.dumps({"subscribe": ["gossip"]}))
        error = await _recv_type(ws, "error")
    assert "gossip" in error["detail"]


async def test_ws_bot_start_and_stop_push_every_lifecycle_status(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    bot_id = (await client.post("/bots", json=bot_body(), headers=auth)).json()["id"]
    async with websockets.connect(station.ws_url(token)) as ws:
        await _recv_type(ws, "hello")
        await client.post(f"/bots/{bot_id}/start", headers=auth)
        starting = await _recv_type(ws, "bot_status")
        status = await _recv_type(ws, "bot_status")
        await client.post(f"/bots/{bot_id}/stop", headers=auth)
        stopping = await _recv_type(ws, "bot_status")
        stopped = await _recv_type(ws, "bot_status")
    assert starting["data"]["status"] == "starting"  # stored before the venue is asked
    assert stopping["data"]["status"] == "stopping"
    assert status["data"] == {
        "bot_id": bot_id,
        "name": "sma 3/8",
        "status": "running",
        "error": None,
    }
    assert stopped["data"]["status"] == "stopped"


async def test_ws_server_stop_closes_open_socket(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    async with websockets.connect(station.ws_url(token)) as ws:
        await _recv_type(ws, "hello")
        await client.aclose()
        await station.server.stop()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)


async def test_ws_pushes_the_kill_switch_to_every_client(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(station.ws_url(token)) as ws:
        hello = await _recv_type(ws, "hello")
        assert {"risk", "arbitrage"} <= set(hello["topics"])
        engaged = await client.post("/risk/kill-switch", json={"reason": "drill"}, headers=auth)
        assert engaged.status_code == 200
        message = await _recv_type(ws, "kill_switch")
    assert message["data"] == {"engaged": True, "actor": "admin", "reason": "drill"}
