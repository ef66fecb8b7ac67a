"""Prometheus scrapes ``/metrics`` over real HTTP while a paper bot trades, and the log
is readable by admins at ``/logs``."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, bot_body, login

RUN_TIMEOUT = 120.0


@pytest.fixture
def station_settings() -> dict[str, object]:
    """Bars as fast as the loop allows (the replay still yields every few ms)."""
    return {"demo_pace_seconds": 0.0}


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value for every sample line of a Prometheus text page."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def total(page: dict[str, float], metric: str) -> float:
    """The sum of ``metric`` over all its label sets."""
    pattern = re.compile(rf"^{re.escape(metric)}(\{{.*\}})?$")
    return sum(v for k, v in page.items() if pattern.match(k))


async def test_metrics_show_orders_and_fills_moving_while_a_bot_trades(
    station: Station, client: httpx.AsyncClient
) -> None:
    auth = bearer(await login(client, "admin", ADMIN_PASSWORD))
    before = await client.get("/metrics")  # no login: Prometheus scrapes without a token
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    assert total(samples(before.text), "task_station_fills_total") == 0
    created = await client.post("/bots", json=bot_body(), headers=auth)
    bot_id = created.json()["id"]
    assert (await client.post(f"/bots/{bot_id}/start", headers=auth)).status_code == 200

    scrapes: list[dict[str, float]] = []
    async with asyncio.timeout(RUN_TIMEOUT):
        while True:
            scrapes.append(samples((await client.get("/metrics")).text))
            status = (await client.get(f"/bots/{bot_id}", headers=auth)).json()["status"]
            if status not in ("running", "starting"):
                break
            await asyncio.sleep(0.05)
    assert status == "finished"
    final = samples((await client.get("/metrics")).text)  # after the run ended
    fills = station.services.orders.fills(bot_id=bot_id)  # the station's own record
    orders = station.services.orders.list(bot_id=bot_id, limit=5000)
    assert total(final, "task_station_fills_total") == len(fills) > 0
    assert total(final, "task_station_orders_submitted_total") == len(orders)
    filled = [o for o in orders if o.status.value == "filled"]
    assert total(final, "task_station_orders_filled_total") == len(filled) > 0
    assert final["task_station_order_round_trip_seconds_count"] >= len(filled)
    assert final["task_station_bots_running"] == 0
    # seen moving: a scrape while the bot ran showed it running with some fills, not all
    during = [s for s in scrapes if s.get("task_station_bots_running") == 1]
    assert any(0 < total(s, "task_station_fills_total") < len(fills) for s in during)
    assert "task_station_event_loop_lag_seconds" in final


async def test_logs_are_for_admins_and_filtered(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    log_file = station.container.settings.log_file
    log_file.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        {"time": "2026-01-01T00:00:00+00:00", "level": "INFO", "logger": "a", "message": "hello"},
        {"time": "2026-01-01T00:00:01+00:00", "level": "ERROR", "logger": "b", "message": "boom"},
    ]
    log_file.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    response = await client.get("/logs", params={"level": "warning"}, headers=admin_headers)
    assert response.status_code == 200
    assert [e["message"] for e in response.json()] == ["boom"]
    station.add_user("viewer", "viewer-password-1", "viewer")
    viewer = bearer(await login(client, "viewer", "viewer-password-1"))
    assert (await client.get("/logs", headers=viewer)).status_code == 403
    assert (await client.get("/logs")).status_code == 401
    bad = await client.get("/logs", params={"level": "loud"}, headers=admin_headers)
    assert bad.status_code in (400, 422)
