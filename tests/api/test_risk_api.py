"""The risk routes over real HTTP: limits as exact strings, the kill switch engaged by a
trader stops the bots started over the API, only an admin releases it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.helpers import Station, bearer, bot_body, login


@pytest.fixture
def station_settings() -> dict[str, Any]:
    """Station-wide limits from the ``TASK_RISK_*`` settings; a 10 ms pace keeps the bots
    running while the test talks to the API."""
    return {
        "demo_pace_seconds": 0.01,
        "risk_max_order_notional": "250000.50",
        "risk_max_drawdown": 0.25,
        "risk_max_open_orders": 40,
    }


async def headers_for(
    station: Station, client: httpx.AsyncClient, name: str, role: str
) -> dict[str, str]:
    station.add_user(name, f"{name}-password-1", role)
    return bearer(await login(client, name, f"{name}-password-1"))


async def test_risk_needs_a_login(client: httpx.AsyncClient) -> None:
    routes = (("GET", "/risk"), ("POST", "/risk/kill-switch"), ("DELETE", "/risk/kill-switch"))
    for method, path in routes:
        response = await client.request(method, path, json={"reason": "x"})
        assert response.status_code == 401, (method, path)


async def test_get_risk_returns_station_limits_as_exact_strings(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post("/bots", json=bot_body(name="plain"), headers=admin_headers)
    assert created.status_code == 201
    response = await client.get("/risk", headers=admin_headers)
    assert response.status_code == 200, response.text
    risk = response.json()
    assert risk["limits"] == {
        "max_position": None,
        "max_order_notional": "250000.50",
        "max_open_orders": 40,
        "max_daily_loss": None,
        "max_drawdown": "0.25",
        "max_orders_per_minute": None,
        "pause_on": ["max_daily_loss", "max_drawdown"],
    }
    assert risk["kill_switch"] == {
        "engaged": False,
        "actor": None,
        "reason": None,
        "since": None,
        "message": "kill switch released",
    }
    assert risk["bots"] == []  # no limits of its own and not running


async def test_kill_switch_stops_bots_then_only_an_admin_releases_it(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    ids = []
    for seed in (3, 4):
        bot = await client.post(
            "/bots", json=bot_body(name=f"b{seed}", data_source=f"synthetic:{seed}"),
            headers=admin_headers,
        )  # fmt: skip
        ids.append(bot.json()["id"])
        started = await client.post(f"/bots/{ids[-1]}/start", headers=admin_headers)
        assert started.status_code == 200, started.text
    listed = (await client.get("/risk", headers=admin_headers)).json()["bots"]
    assert sorted(b["bot_id"] for b in listed) == sorted(ids)
    assert all(b["running"] and b["paused_reason"] is None for b in listed)

    viewer = await headers_for(station, client, "vera", "viewer")
    trader = await headers_for(station, client, "tess", "trader")
    refused = await client.post("/risk/kill-switch", json={"reason": "x"}, headers=viewer)
    assert refused.status_code == 403
    assert "may not engage the kill switch" in refused.json()["detail"]
    for bad in ({}, {"reason": ""}, {"reason": "ok", "extra": 1}, {"reason": "   "}):
        response = await client.post("/risk/kill-switch", json=bad, headers=trader)
        assert response.status_code == 422, bad

    engaged = await client.post(
        "/risk/kill-switch", json={"reason": "venue acting up"}, headers=trader
    )
    assert engaged.status_code == 200, engaged.text
    report = engaged.json()
    assert sorted(report["stopped_bots"]) == sorted(ids)
    assert isinstance(report["canceled_orders"], int)
    switch = report["kill_switch"]
    assert (switch["engaged"], switch["actor"], switch["reason"]) == (
        True,
        "tess",
        "venue acting up",
    )
    assert switch["since"] is not None
    assert switch["message"].startswith("kill switch engaged by tess at ")
    for bot_id in ids:
        bot = (await client.get(f"/bots/{bot_id}", headers=admin_headers)).json()
        assert bot["status"] == "stopped"
        assert bot["error"] == "stopped by the kill switch: venue acting up"
    assert (await client.get("/risk", headers=viewer)).json()["kill_switch"]["engaged"] is True

    blocked = await client.post(f"/bots/{ids[0]}/start", headers=admin_headers)
    assert blocked.status_code == 409
    assert "kill switch engaged by tess" in blocked.json()["detail"]
    assert "an admin must release it" in blocked.json()["detail"]

    denied = await client.delete("/risk/kill-switch", headers=trader)
    assert denied.status_code == 403
    assert "admins only" in denied.json()["detail"]
    released = await client.delete("/risk/kill-switch", headers=admin_headers)
    assert released.status_code == 200, released.text
    assert released.json()["engaged"] is False and released.json()["actor"] == "admin"
    again = await client.delete("/risk/kill-switch", headers=admin_headers)
    assert again.status_code == 409
    restarted = await client.post(f"/bots/{ids[0]}/start", headers=admin_headers)
    assert restarted.status_code == 200, restarted.text
    await client.post(f"/bots/{ids[0]}/stop", headers=admin_headers)


async def test_bot_limits_given_to_the_service_show_in_get_risk(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    station.services.bots.create(
        station.admin,
        name="careful",
        strategy="sma_cross",
        params={"fast": 3, "slow": 8},
        quote_budget="1000",
        risk_limits={"max_position": "0.5", "max_daily_loss": 20.5},
        stops={"trailing_stop_pct": "1.5"},
    )
    (bot,) = (await client.get("/risk", headers=admin_headers)).json()["bots"]
    assert bot["name"] == "careful" and bot["running"] is False
    assert bot["limits"]["max_position"] == "0.5"
    assert Decimal(bot["limits"]["max_daily_loss"]) == Decimal("20.5")
    assert bot["stops"] == {
        "stop_loss_pct": None,
        "take_profit_pct": None,
        "trailing_stop_pct": "1.5",
    }
