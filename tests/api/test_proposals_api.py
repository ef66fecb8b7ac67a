"""Modes, proposals and the order ticket over real HTTP and WebSocket on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets

from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, bot_body, login

TIMEOUT = 30.0
LOOSE_RULES = {"expiry_seconds": 300, "max_drift_bps": None}


@pytest.fixture
def station_settings() -> dict[str, Any]:
    """5 ms a bar: a run lasts ~15 s, long enough to decide proposals while it runs."""
    return {"demo_pace_seconds": 0.005}


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll ``check`` until it returns something truthy; return it."""

    async def poll() -> Any:
        while not (found := await check()):
            await asyncio.sleep(0.01)
        return found

    try:
        return await asyncio.wait_for(poll(), TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def new_bot(client: httpx.AsyncClient, headers: dict[str, str], mode: str | None) -> str:
    response = await client.post("/bots", json=bot_body(), headers=headers)
    assert response.status_code == 201, response.text
    bot_id: str = response.json()["id"]
    if mode is not None:
        body = {"mode": mode, "rules": LOOSE_RULES}
        answer = await client.put(f"/bots/{bot_id}/mode", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    return bot_id


async def pending_of(
    client: httpx.AsyncClient, headers: dict[str, str], bot_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/bots/{bot_id}/proposals", params={"status": "pending"}, headers=headers
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def order_status(
    client: httpx.AsyncClient, headers: dict[str, str], bot_id: str, client_order_id: str
) -> str | None:
    orders = (await client.get("/orders", params={"bot_id": bot_id}, headers=headers)).json()
    return next((o["status"] for o in orders if o["client_order_id"] == client_order_id), None)


async def test_put_mode_sets_mode_and_rules_with_money_as_strings(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot_id = await new_bot(client, admin_headers, None)
    default = (await client.get(f"/bots/{bot_id}/mode", headers=admin_headers)).json()
    assert default["mode"] == "automated" and default["rules"]["max_drift_bps"] == "100"
    body = {
        "mode": "mixed",
        "rules": {"expiry_seconds": 120, "auto_approve_below": 0.1, "max_drift_bps": "25.5"},
    }
    response = await client.put(f"/bots/{bot_id}/mode", json=body, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "bot_id": bot_id,
        "mode": "mixed",
        "running": False,
        "rules": {
            "expiry_seconds": 120,
            "max_drift_bps": "25.5",
            "auto_approve_below": "0.1",
            "auto_approve_within_bps": None,
        },
    }
    bot = (await client.get(f"/bots/{bot_id}", headers=admin_headers)).json()
    assert (bot["control_mode"], bot["mode"]) == ("mixed", "paper")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"mode": "semi"}, "mode"),
        ({"mode": "mixed", "rules": {"expiry_seconds": 1}}, "expiry_seconds"),
        ({"mode": "mixed", "rules": {"max_drfit_bps": 3}}, "max_drfit_bps"),
        ({"mode": "mixed", "rules": {"max_drift_bps": "-1"}}, "max_drift_bps"),
    ],
)
async def test_put_mode_invalid_returns_422_naming_problem(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], named: str
) -> None:
    bot_id = await new_bot(client, admin_headers, None)
    response = await client.put(f"/bots/{bot_id}/mode", json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]


async def test_mixed_bot_proposal_pushed_on_ws_then_approved_over_http_fills(
    station: Station, client: httpx.AsyncClient
) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    auth = bearer(token)
    bot_id = await new_bot(client, auth, "mixed")
    async with websockets.connect(station.ws_url(token)) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert "proposal" in hello["topics"]
        assert (await client.post(f"/bots/{bot_id}/start", headers=auth)).status_code == 200
        pushed = await _recv_proposal(ws, lambda d: d["status"] == "pending")
        assert pushed["bot_id"] == bot_id and isinstance(pushed["reference_price"], str)
        (listed,) = await pending_of(client, auth, bot_id)
        assert listed["id"] == pushed["id"]
        assert isinstance(listed["drift_bps"], str) and listed["bot_name"] == "sma 3/8"
        assert listed["expires_in_seconds"] <= 300
        answer = await client.post(f"/bots/{bot_id}/proposals/{pushed['id']}/approve", headers=auth)
        assert answer.status_code == 200, answer.text
        approved = answer.json()
        assert (approved["status"], approved["decided_by"]) == ("approved", "admin")
        decided = await _recv_proposal(
            ws, lambda d: d["id"] == pushed["id"] and d["status"] != "pending"
        )
        assert decided["client_order_id"] == approved["client_order_id"]
    cid = approved["client_order_id"]

    async def filled() -> bool:
        return await order_status(client, auth, bot_id, cid) == "filled"

    await until(filled, "the approved order to fill")
    again = await client.post(f"/bots/{bot_id}/proposals/{pushed['id']}/approve", headers=auth)
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    await client.post(f"/bots/{bot_id}/stop", headers=auth)


async def _recv_proposal(ws: Any, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message["type"] == "proposal" and match(message["data"]):
            data: dict[str, Any] = message["data"]
            return data


async def test_edit_and_reject_over_http(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot_id = await new_bot(client, admin_headers, "mixed")
    await client.post(f"/bots/{bot_id}/start", headers=admin_headers)

    async def first() -> dict[str, Any] | None:
        found = await pending_of(client, admin_headers, bot_id)
        return found[0] if found else None

    proposal = await until(first, "a proposal")
    base = f"/bots/{bot_id}/proposals/{proposal['id']}"
    bad = await client.post(f"{base}/edit", json={"quantity": "lots"}, headers=admin_headers)
    assert bad.status_code == 422 and "quantity" in bad.json()["detail"]
    typo = await client.post(f"{base}/edit", json={"qty": "1"}, headers=admin_headers)
    assert typo.status_code == 422 and "qty" in typo.json()["detail"]
    empty = await client.post(f"{base}/edit", json={}, headers=admin_headers)
    assert empty.status_code == 422 and "needs a new quantity" in empty.json()["detail"]
    edited = await client.post(f"{base}/edit", json={"quantity": 0.01}, headers=admin_headers)
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["status"] == "edited" and body["edited"] is True
    assert body["order"]["quantity"] == "0.01" and body["order"]["quote_quantity"] is None
    assert body["proposed"]["quote_quantity"] is not None

    async def filled() -> bool:
        return (
            await order_status(client, admin_headers, bot_id, body["client_order_id"]) == "filled"
        )

    await until(filled, "the edited order to fill")
    fills = (await client.get("/fills", params={"bot_id": bot_id}, headers=admin_headers)).json()
    mine = [f for f in fills if f["client_order_id"] == body["client_order_id"]]
    assert [Decimal(f["quantity"]) for f in mine] == [Decimal("0.01")]

    following = await until(first, "the next proposal")
    path = f"/bots/{bot_id}/proposals/{following['id']}/reject"
    rejected = await client.post(path, json={"reason": "not convinced"}, headers=admin_headers)
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "not convinced")
    listed = (await client.get(f"/bots/{bot_id}/proposals", headers=admin_headers)).json()
    assert {p["status"] for p in listed} >= {"edited", "rejected"}
    one = await client.get(f"/bots/{bot_id}/proposals/{following['id']}", headers=admin_headers)
    assert one.json()["status"] == "rejected"
    await client.post(f"/bots/{bot_id}/stop", headers=admin_headers)


async def test_viewer_reads_and_is_refused_decisions_and_modes(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot_id = await new_bot(client, admin_headers, "mixed")
    station.add_user("vera", "vera-pw-Correct-Horse-1", "viewer")
    viewer = bearer(await login(client, "vera", "vera-pw-Correct-Horse-1"))
    assert (await client.get(f"/bots/{bot_id}/proposals", headers=viewer)).status_code == 200
    assert (await client.get(f"/bots/{bot_id}/mode", headers=viewer)).status_code == 200
    for method, path, body in [
        ("POST", f"/bots/{bot_id}/proposals/pr-x/approve", None),
        ("POST", f"/bots/{bot_id}/proposals/pr-x/reject", None),
        ("POST", f"/bots/{bot_id}/proposals/pr-x/edit", {"quantity": "1"}),
        ("PUT", f"/bots/{bot_id}/mode", {"mode": "manual"}),
        ("POST", f"/bots/{bot_id}/orders", {"side": "buy", "quantity": "1"}),
    ]:
        response = await client.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, (path, response.text)
    assert (await client.get(f"/bots/{bot_id}/proposals")).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/bots/ghost/proposals"),
        ("GET", "/bots/ghost/mode"),
        ("POST", "/bots/ghost/proposals/pr-x/approve"),
        ("PUT", "/bots/ghost/mode"),
    ],
)
async def test_unknown_bot_returns_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str], method: str, path: str
) -> None:
    body = {"mode": "mixed"} if method == "PUT" else None
    response = await client.request(method, path, json=body, headers=admin_headers)
    assert response.status_code == 404, response.text


async def test_unknown_proposal_returns_404_and_stopped_bot_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot_id = await new_bot(client, admin_headers, "manual")
    missing = await client.post(f"/bots/{bot_id}/proposals/pr-x/approve", headers=admin_headers)
    assert missing.status_code == 404 and "pr-x" in missing.json()["detail"]
    ticket = {"side": "buy", "quantity": "0.01"}
    idle = await client.post(f"/bots/{bot_id}/orders", json=ticket, headers=admin_headers)
    assert idle.status_code == 409 and "not running" in idle.json()["detail"]


async def test_manual_bot_order_ticket_returns_201_and_fills(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot_id = await new_bot(client, admin_headers, "manual")
    await client.post(f"/bots/{bot_id}/start", headers=admin_headers)
    path = f"/bots/{bot_id}/orders"
    no_price = await client.post(
        path, json={"side": "buy", "quantity": "0.01", "type": "limit"}, headers=admin_headers
    )
    assert no_price.status_code == 422 and "needs a price" in no_price.json()["detail"]
    response = await client.post(
        path, json={"side": "buy", "quantity": "0.02"}, headers=admin_headers
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["bot_id"], order["quantity"], order["side"]) == (bot_id, "0.02", "buy")

    async def filled() -> bool:
        return (
            await order_status(client, admin_headers, bot_id, order["client_order_id"]) == "filled"
        )

    await until(filled, "the ticket's order to fill")
    book = (await client.get(f"/portfolio/{bot_id}", headers=admin_headers)).json()
    assert Decimal(book["balances"]["BTC"]) == Decimal("0.02")
    await client.post(f"/bots/{bot_id}/stop", headers=admin_headers)
