"""Login, bearer tokens and roles over HTTP."""

from __future__ import annotations

import httpx

from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, bot_body, login


async def test_health_without_token_returns_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["time"].endswith("Z") or "+00:00" in body["time"]


async def test_login_returns_bearer_token_and_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == {"username": "admin", "role": "admin"}
    assert body["access_token"] and body["expires_at"]


async def test_login_bad_password_returns_401_without_echo(client: httpx.AsyncClient) -> None:
    secret = "Not-The-Password-42"
    response = await client.post("/auth/login", json={"username": "admin", "password": secret})
    assert response.status_code == 401
    assert response.json()["error"] == "AuthenticationError"
    assert secret not in response.text


async def test_login_malformed_body_returns_422_without_echo(client: httpx.AsyncClient) -> None:
    secret = "Leaky-Password-7"
    response = await client.post(
        "/auth/login", json={"username": "admin", "password": secret, "extra": secret}
    )
    assert response.status_code == 422
    assert "extra" in response.json()["detail"]
    assert secret not in response.text


async def test_request_without_token_returns_401_with_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/bots", "/orders", "/fills", "/portfolio", "/market/candles", "/strategies"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "AuthenticationError"


async def test_request_with_forged_token_returns_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/bots", headers=bearer("not.a.jwt"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_logout_then_same_token_returns_401(client: httpx.AsyncClient) -> None:
    token = await login(client, "admin", ADMIN_PASSWORD)
    assert (await client.get("/bots", headers=bearer(token))).status_code == 200
    assert (await client.post("/auth/logout", headers=bearer(token))).status_code == 204
    assert (await client.get("/bots", headers=bearer(token))).status_code == 401


async def test_viewer_create_bot_returns_403_and_creates_nothing(
    station: Station, client: httpx.AsyncClient
) -> None:
    station.add_user("watcher", "viewer-pw-123456", "viewer")
    viewer = bearer(await login(client, "watcher", "viewer-pw-123456"))
    response = await client.post("/bots", json=bot_body(), headers=viewer)
    assert response.status_code == 403
    assert response.json()["error"] == "PermissionDeniedError"
    listed = await client.get("/bots", headers=viewer)
    assert listed.status_code == 200
    assert listed.json() == []
