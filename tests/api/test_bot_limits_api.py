"""A bot's risk limits, position stops and control mode over real HTTP: given at creation,
shown apart from the strategy's parameters, stored across a restart, refused by name when
wrong; and ``POST /bots/{id}/resume`` for a bot a limit paused."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from task_station.container import build_container
from tests.api.helpers import Station, bearer, bot_body, login


@pytest.fixture
def station_settings() -> dict[str, Any]:
    """10 ms a bar: a paused bot is still running (paused, not finished) when resumed."""
    return {"demo_pace_seconds": 0.01}


LIMITS = {
    "max_position": "0.5",
    "max_order_notional": 2500.25,
    "max_open_orders": 3,
    "max_daily_loss": "150",
    "max_drawdown": "0.2",
    "pause_on": ["max_drawdown"],
}
STOPS = {"stop_loss_pct": "2.5", "trailing_stop_pct": 4}


async def bot_count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get("/bots", headers=headers)
    assert response.status_code == 200
    return len(response.json())


async def until(predicate: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_create_with_limits_stops_and_mode_shows_them_and_they_survive_a_restart(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = bot_body(risk_limits=LIMITS, stops=STOPS, control_mode="mixed")
    response = await client.post("/bots", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    bot = response.json()
    assert bot["params"] == {"fast": 3, "slow": 8}  # the strategy's only
    assert bot["control_mode"] == "mixed"
    assert bot["risk_limits"] == {
        "max_position": "0.5",
        "max_order_notional": "2500.25",
        "max_open_orders": 3,
        "max_daily_loss": "150",
        "max_drawdown": "0.2",
        "max_orders_per_minute": None,
        "pause_on": ["max_drawdown"],
    }
    assert bot["stops"] == {
        "stop_loss_pct": "2.5",
        "take_profit_pct": None,
        "trailing_stop_pct": "4",
    }
    fetched = (await client.get(f"/bots/{bot['id']}", headers=admin_headers)).json()
    assert fetched == bot
    (listed,) = (await client.get("/risk", headers=admin_headers)).json()["bots"]
    assert listed["limits"] == bot["risk_limits"] and listed["stops"] == bot["stops"]

    restarted = build_container(station.container.settings)  # a new process, same database
    try:
        again = restarted.services.bots.get(bot["id"])
        assert again.control_mode.value == "mixed"
        assert again.params["_risk"] == {
            "limits": {**LIMITS, "max_order_notional": "2500.25"},
            "stops": {"stop_loss_pct": "2.5", "trailing_stop_pct": "4"},
        }
    finally:
        await restarted.aclose()


async def test_create_without_limits_is_automated_with_no_limits(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post("/bots", json=bot_body(), headers=admin_headers)
    assert response.status_code == 201, response.text
    bot = response.json()
    assert bot["control_mode"] == "automated"
    assert bot["risk_limits"]["max_drawdown"] is None
    assert bot["risk_limits"]["pause_on"] == ["max_daily_loss", "max_drawdown"]
    assert set(bot["stops"].values()) == {None}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"risk_limits": {"max_drawdown": "25"}}, "max_drawdown"),
        ({"risk_limits": {"max_daily_loss": "-10"}}, "max_daily_loss"),
        ({"risk_limits": {"max_position": "lots"}}, "max_position"),
        ({"risk_limits": {"max_open_orders": 0}}, "max_open_orders"),
        ({"risk_limits": {"max_open_orders": True}}, "max_open_orders"),
        ({"risk_limits": {"max_orders_per_minute": 2.5}}, "max_orders_per_minute"),
        ({"risk_limits": {"max_loss": "10"}}, "max_loss"),
        ({"risk_limits": {"pause_on": ["bad_luck"]}}, "pause_on"),
        ({"stops": {"stop_loss_pct": "120"}}, "stop_loss_pct"),
        ({"stops": {"take_profit_pct": "0"}}, "take_profit_pct"),
        ({"stops": {"stoploss": "2"}}, "stoploss"),
        ({"control_mode": "autopilot"}, "control_mode"),
        ({"control_mode": None}, "control_mode"),
    ],
)
async def test_bad_limits_stops_or_mode_return_422_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    overrides: dict[str, object],
    named: str,
) -> None:
    response = await client.post("/bots", json=bot_body(**overrides), headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "ValidationError"
    assert named in response.json()["detail"]
    assert await bot_count(client, admin_headers) == 0


async def test_resume_a_paused_bot_over_http_then_409_once_it_is_not_paused(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # a drawdown of 0.01 % is crossed by the fee of the first trade
    body = bot_body(risk_limits={"max_drawdown": "0.0001"})
    bot_id = (await client.post("/bots", json=body, headers=admin_headers)).json()["id"]
    not_running = await client.post(f"/bots/{bot_id}/resume", headers=admin_headers)
    assert not_running.status_code == 409
    assert not_running.json()["detail"] == "bot 'sma 3/8' is not paused"

    started = await client.post(f"/bots/{bot_id}/start", headers=admin_headers)
    assert started.status_code == 200, started.text

    async def paused() -> bool:
        bot = (await client.get(f"/bots/{bot_id}", headers=admin_headers)).json()
        # a PAUSED status, or (before it existed) the reason kept as the bot's error
        return bot["status"] == "paused" or (bot["error"] or "").startswith("paused by a risk")

    await until(paused, "the drawdown pause")
    station.add_user("vera", "vera-password-1", "viewer")
    viewer = bearer(await login(client, "vera", "vera-password-1"))
    refused = await client.post(f"/bots/{bot_id}/resume", headers=viewer)
    assert refused.status_code == 403
    assert "may not resume bots" in refused.json()["detail"]

    resumed = await client.post(f"/bots/{bot_id}/resume", headers=admin_headers)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "running" and resumed.json()["error"] is None
    audit = station.container.database.audit.list_recent()
    assert ("bot.resume", bot_id, "admin") in [(e.action, e.subject, e.actor) for e in audit]
    # the next bar may pause it again (the drawdown is measured afresh): stop it first
    assert (await client.post(f"/bots/{bot_id}/stop", headers=admin_headers)).status_code == 200
    again = await client.post(f"/bots/{bot_id}/resume", headers=admin_headers)
    assert again.status_code == 409
    assert "is not paused" in again.json()["detail"]


async def test_resume_needs_a_login_and_a_known_bot(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await client.post("/bots/nope/resume")).status_code == 401
    unknown = await client.post("/bots/nope/resume", headers=admin_headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "NotFoundError", "detail": "no bot with id 'nope'"}
