"""Loopback binding, security headers, request size and rate limits, CORS, error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from task_station.api.app import create_app
from task_station.api.options import ApiOptions
from task_station.api.server import ApiServer, check_bind_host, is_loopback
from task_station.domain.errors import ConfigurationError
from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, login


@asynccontextmanager
async def _served(station: Station, options: ApiOptions) -> AsyncIterator[httpx.AsyncClient]:
    """A second API over the same station, with other options."""
    server = ApiServer(create_app(station.services, options=options), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            yield http
    finally:
        await server.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert is_loopback(host)
    check_bind_host(host, allow_remote=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "station.example"])
def test_non_loopback_host_is_refused_unless_allowed(host: str) -> None:
    with pytest.raises(ConfigurationError, match="TASK_API_ALLOW_REMOTE"):
        ApiServer(_dummy_app, host, 0)
    check_bind_host(host, allow_remote=True)


async def _dummy_app(scope: object, receive: object, send: object) -> None:  # pragma: no cover
    return None


async def test_security_headers_on_answers_and_errors(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for response in (
        await client.get("/bots", headers=admin_headers),
        await client.get("/bots"),  # 401
        await client.get("/no/such/route", headers=admin_headers),  # 404
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert "server" not in headers
    docs = await client.get("/docs")
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"


async def test_unknown_route_and_method_answer_the_one_error_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    missing = await client.get("/no/such/route", headers=admin_headers)
    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "detail"} and missing.json()["error"] == "NotFound"
    wrong = await client.delete("/bots", headers=admin_headers)
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "MethodNotAllowed"


async def test_oversized_body_is_refused_with_413(station: Station) -> None:
    async with _served(station, ApiOptions(max_request_bytes=2048)) as http:
        token = await login(http, "admin", ADMIN_PASSWORD)
        big = {"name": "x" * 5000, "strategy": "sma_cross"}
        declared = await http.post("/bots", json=big, headers=bearer(token))
        assert declared.status_code == 413
        assert declared.json()["error"] == "RequestEntityTooLarge"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            yield b'{"name": "'
            for _ in range(10):
                yield b"y" * 512
            yield b'"}'

        streamed = await http.post(
            "/bots",
            content=chunks(),
            headers={**bearer(token), "content-type": "application/json"},
        )
        assert streamed.status_code == 413
        assert (await http.get("/bots", headers=bearer(token))).json() == []


async def test_rate_limit_answers_429_per_client(station: Station) -> None:
    station.add_user("tom", "trader-pw-Correct-1", "trader")
    async with _served(station, ApiOptions(rate_per_second=0.5, burst=3)) as http:
        admin = bearer(await login(http, "admin", ADMIN_PASSWORD))  # 1 of the address's 3
        statuses = [(await http.get("/bots", headers=admin)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = await http.get("/bots", headers=admin)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"] == "TooManyRequests"
        assert limited.headers["x-frame-options"] == "DENY"
    # another user has a bucket of their own
    tom_token = station.services.auth.login("tom", "trader-pw-Correct-1").token
    async with _served(station, ApiOptions(rate_per_second=0.5, burst=3)) as http:
        for _ in range(3):
            assert (await http.get("/bots", headers=admin)).status_code == 200
        assert (await http.get("/bots", headers=admin)).status_code == 429
        assert (await http.get("/bots", headers=bearer(tom_token))).status_code == 200


async def test_cors_allows_only_the_configured_origins(station: Station) -> None:
    options = ApiOptions(cors_origins=("http://localhost:3000",))
    async with _served(station, options) as http:
        preflight = {"access-control-request-method": "GET"}
        allowed = await http.options(
            "/bots", headers={"origin": "http://localhost:3000", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
        other = await http.get("/health", headers={"origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    async with httpx.AsyncClient(base_url=station.base_url) as http:
        default = await http.get("/health", headers={"origin": "http://localhost:3000"})
    assert "access-control-allow-origin" not in default.headers


async def test_openapi_documents_the_one_error_body(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    login_op = schema["paths"]["/auth/login"]["post"]
    assert login_op["security"] == []
    assert login_op["responses"]["429"]["headers"]["Retry-After"]
    bots_op = schema["paths"]["/bots"]["post"]
    for status in ("401", "403", "413", "422"):
        ref = bots_op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut")
