"""``GET /audit`` and ``GET /audit/verify`` (admins) over real HTTP."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import update

from task_station.persistence.models import AuditEventRow
from tests.api.helpers import Station, bot_body


async def test_api_actions_are_audited_with_face_and_before_after(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bot = (await client.post("/bots", json=bot_body(), headers=admin_headers)).json()
    body = {"params": {"fast": 4, "slow": 9}}
    changed = await client.put(f"/bots/{bot['id']}/params", json=body, headers=admin_headers)
    assert changed.status_code == 200, changed.text
    found = await client.get(
        "/audit", params={"action": "bot.", "face": "api"}, headers=admin_headers
    )
    assert found.status_code == 200
    events = found.json()
    assert [e["action"] for e in events] == ["bot.update_params", "bot.create"]
    assert all(e["actor"] == "admin" and e["face"] == "api" for e in events)
    update_event = events[0]
    assert json.loads(update_event["before"])["params"]["fast"] == 3
    assert json.loads(update_event["after"])["params"]["fast"] == 4
    assert update_event["prev_hash"] and len(update_event["hash"]) == 64


async def test_audit_search_filters_and_pages(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name in ("u1", "u2", "u3"):
        station.add_user(name, "password-123", "viewer")
    page = await client.get(
        "/audit", params={"action": "user.create", "limit": 2}, headers=admin_headers
    )
    assert [e["subject"] for e in page.json()] == ["u3", "u2"]
    assert page.headers["x-total-count"] == "4"  # the first admin too
    assert 'rel="next"' in page.headers["link"] and "offset=2" in page.headers["link"]
    by_user = await client.get("/audit", params={"user": "nobody"}, headers=admin_headers)
    assert by_user.json() == []
    since = page.json()[0]["ts"]
    later = await client.get("/audit", params={"since": since}, headers=admin_headers)
    assert all(e["ts"] >= since for e in later.json())
    bad = await client.get("/audit", params={"face": "telepathy"}, headers=admin_headers)
    assert bad.status_code == 422 and "unknown face" in bad.json()["detail"]


async def test_audit_verify_names_the_tampered_event(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name in ("u1", "u2"):
        station.add_user(name, "password-123", "viewer")
    intact = (await client.get("/audit/verify", headers=admin_headers)).json()
    assert intact["ok"] is True and intact["first_bad_event"] is None
    target = station.services.audit.search(
        station.admin, station.services.audit.filters(action="user.create", user="admin")
    )[-1]
    with station.container.database.engine.begin() as connection:
        connection.execute(
            update(AuditEventRow).where(AuditEventRow.id == target.id).values(actor="mallory")
        )
    broken = (await client.get("/audit/verify", headers=admin_headers)).json()
    assert broken["ok"] is False
    assert broken["first_bad_event"] == target.id
    assert str(target.id) in broken["summary"]
