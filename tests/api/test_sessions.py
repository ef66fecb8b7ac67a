"""Access and refresh tokens, sessions, lockout and user management over real HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from task_station.api.options import ApiOptions
from task_station.container import JWT_KEY_REF
from task_station.security.tokens import TokenClaims, TokenIssuer
from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, login

TRADER_PASSWORD = "trader-pw-Correct-1"


@pytest.fixture
def api_options() -> ApiOptions:
    return ApiOptions(ws_recheck_seconds=0.2, ws_health_seconds=0.2)


async def _login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    response = await client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _actions(station: Station) -> list[str]:
    return [e.action for e in station.services.audit.search(station.admin, _all(station))]


def _all(station: Station) -> Any:
    return station.services.audit.filters()


async def test_login_answers_a_token_pair_marked_no_store(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["refresh_token"] and body["session_id"] and body["refresh_expires_at"]
    assert body["expires_at"] < body["refresh_expires_at"]  # access tokens are short-lived
    me = await client.get("/auth/me", headers=bearer(body["access_token"]))
    assert me.json() == {"username": "admin", "role": "admin", "session_id": body["session_id"]}


async def test_refresh_rotates_and_reuse_of_a_retired_token_closes_the_login(
    station: Station, client: httpx.AsyncClient
) -> None:
    first = await _login(client, "admin", ADMIN_PASSWORD)
    rotated = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]
    assert (await client.get("/bots", headers=bearer(second["access_token"]))).status_code == 200

    replay = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    for token in (first["access_token"], second["access_token"]):
        assert (await client.get("/bots", headers=bearer(token))).status_code == 401
    again = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401  # the whole family is closed
    assert "auth.refresh_reuse" in _actions(station)


async def test_expired_access_token_is_refused_though_its_session_is_open(
    station: Station, client: httpx.AsyncClient
) -> None:
    real = await _login(client, "admin", ADMIN_PASSWORD)
    claims = jwt.decode(real["access_token"], options={"verify_signature": False})
    key = station.container.vault.get(JWT_KEY_REF)
    assert key is not None
    issuer = TokenIssuer(key.encode(), timedelta(minutes=1))
    now = station.services.clock.now()
    stale = issuer.issue(
        TokenClaims(claims["sub"], "admin", "admin", claims["sid"], now - timedelta(seconds=1))
    )
    response = await client.get("/bots", headers=bearer(stale))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


@pytest.mark.parametrize("how", ["other key", "alg none", "edited payload", "garbage"])
async def test_forged_tokens_are_refused(
    how: str, station: Station, client: httpx.AsyncClient
) -> None:
    real = await _login(client, "admin", ADMIN_PASSWORD)
    claims = jwt.decode(real["access_token"], options={"verify_signature": False})
    if how == "other key":
        token = jwt.encode(claims, "x" * 32, algorithm="HS256")
    elif how == "alg none":
        token = jwt.encode(claims, key="", algorithm="none")
    elif how == "edited payload":
        head, _, signature = real["access_token"].split(".")
        body = jwt.encode({**claims, "role": "admin", "sub": "someone"}, "k" * 32).split(".")[1]
        token = f"{head}.{body}.{signature}"
    else:
        token = "not-a-token"
    response = await client.get("/bots", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_revoked_sessions_are_refused_everywhere(
    station: Station, client: httpx.AsyncClient
) -> None:
    laptop = await _login(client, "admin", ADMIN_PASSWORD)
    phone = await _login(client, "admin", ADMIN_PASSWORD)
    listed = await client.get("/auth/sessions", headers=bearer(laptop["access_token"]))
    assert {s["id"] for s in listed.json()} >= {laptop["session_id"], phone["session_id"]}
    assert [s["current"] for s in listed.json() if s["id"] == laptop["session_id"]] == [True]
    revoked = await client.delete(
        f"/auth/sessions/{phone['session_id']}", headers=bearer(laptop["access_token"])
    )
    assert revoked.status_code == 204
    assert (await client.get("/bots", headers=bearer(phone["access_token"]))).status_code == 401
    stale = await client.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert stale.status_code == 401
    await client.post("/auth/logout", headers=bearer(laptop["access_token"]))
    assert (await client.get("/bots", headers=bearer(laptop["access_token"]))).status_code == 401


async def test_other_users_sessions_are_invisible_to_non_admins(
    station: Station, client: httpx.AsyncClient
) -> None:
    station.add_user("tom", TRADER_PASSWORD, "trader")
    admin = await _login(client, "admin", ADMIN_PASSWORD)
    tom = await _login(client, "tom", TRADER_PASSWORD)
    probe = await client.delete(
        f"/auth/sessions/{admin['session_id']}", headers=bearer(tom["access_token"])
    )
    assert probe.status_code == 404
    assert (await client.get("/bots", headers=bearer(admin["access_token"]))).status_code == 200


async def test_repeated_bad_logins_lock_out_even_the_right_password(
    station: Station, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        bad = await client.post("/auth/login", json={"username": "admin", "password": "nope-nope"})
        assert bad.status_code == 401
    locked = await client.post(
        "/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json()["error"] == "TooManyRequestsError"
    assert _actions(station).count("auth.login_failed") == 5


async def test_changing_the_password_closes_the_other_sessions(
    station: Station, client: httpx.AsyncClient
) -> None:
    station.add_user("tom", TRADER_PASSWORD, "trader")
    here = await _login(client, "tom", TRADER_PASSWORD)
    elsewhere = await _login(client, "tom", TRADER_PASSWORD)
    wrong = await client.post(
        "/auth/password",
        json={"current_password": "not-it-123", "new_password": "brand-New-pw-2"},
        headers=bearer(here["access_token"]),
    )
    assert wrong.status_code == 401
    changed = await client.post(
        "/auth/password",
        json={"current_password": TRADER_PASSWORD, "new_password": "brand-New-pw-2"},
        headers=bearer(here["access_token"]),
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get("/bots", headers=bearer(here["access_token"]))).status_code == 200
    gone = await client.get("/bots", headers=bearer(elsewhere["access_token"]))
    assert gone.status_code == 401
    await login(client, "tom", "brand-New-pw-2")
    (event,) = station.services.audit.search(
        station.admin, station.services.audit.filters(action="user.password")
    )
    assert "brand-New" not in f"{event.detail}{event.before}{event.after}"


async def test_admin_creates_changes_and_disables_users(
    station: Station, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    made = await client.post(
        "/auth/users",
        json={"username": "Tina", "password": TRADER_PASSWORD, "role": "trader"},
        headers=admin_headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["username"] == "tina" and "password" not in made.text
    tina = bearer(await login(client, "tina", TRADER_PASSWORD))
    assert (await client.get("/auth/users", headers=tina)).status_code == 403
    listed = await client.get("/auth/users", headers=admin_headers)
    assert [u["username"] for u in listed.json()] == ["admin", "tina"]
    assert listed.headers["x-total-count"] == "2"

    demoted = await client.patch("/auth/users/tina", json={"role": "viewer"}, headers=admin_headers)
    assert demoted.json()["role"] == "viewer"
    assert (await client.post("/bots/x/start", headers=tina)).status_code == 403
    disabled = await client.patch("/auth/users/tina", json={"active": False}, headers=admin_headers)
    assert disabled.json()["active"] is False
    assert (await client.get("/bots", headers=tina)).status_code == 401

    last = await client.patch("/auth/users/admin", json={"role": "viewer"}, headers=admin_headers)
    assert last.status_code == 409 and "last active admin" in last.json()["detail"]
    (update,) = station.services.audit.search(
        station.admin, station.services.audit.filters(action="user.update", face="api"), limit=1
    )
    assert json.loads(update.before or "{}")["active"] is True
    assert json.loads(update.after or "{}")["active"] is False


async def test_ws_closes_once_its_session_is_revoked(
    station: Station, client: httpx.AsyncClient
) -> None:
    session = await _login(client, "admin", ADMIN_PASSWORD)
    async with websockets.connect(station.ws_url(session["access_token"])) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello" and "health" in hello["topics"]
        await client.post("/auth/logout", headers=bearer(session["access_token"]))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_ws_health_topic_reports_the_station_readiness(
    station: Station, client: httpx.AsyncClient
) -> None:
    session = await _login(client, "admin", ADMIN_PASSWORD)
    async with websockets.connect(station.ws_url(session["access_token"])) as ws:
        await asyncio.wait_for(ws.recv(), 10)  # hello
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "health":
            pass
    assert message["data"]["status"] in ("ready", "degraded", "not ready")
    assert "database" in message["data"]["components"]
