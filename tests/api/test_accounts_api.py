"""/accounts over loopback HTTP against a real station. Venues point at a closed
loopback port, so connection tests exercise the error path without the internet."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from task_station.api.app import create_app
from task_station.api.server import ApiServer
from task_station.config import Settings
from task_station.container import build_container
from task_station.services.accounts import AccountService
from task_station.services.principal import Principal
from task_station.venues.ccxt_cex import CcxtVenueFactory, RetryPolicy
from tests.api.helpers import ADMIN_PASSWORD, Station

KEY = "APIKEY-UNIQUE-3e8d0a11"
SECRET = "APISECRET-UNIQUE-77f0b2cafe"


@pytest.fixture
async def station(
    settings_factory: Callable[..., Settings], station_settings: dict[str, Any]
) -> AsyncIterator[Station]:
    """The shared station, with account venues sent to 127.0.0.1:9 (closed)."""
    container = build_container(settings_factory(**station_settings))
    clock = container.services.clock
    factory = CcxtVenueFactory(
        clock, base_url="http://127.0.0.1:9", retry=RetryPolicy(2, 0.001, 0.002)
    )
    accounts = AccountService(
        container.database.accounts, container.vault, clock, container.database.audit, factory
    )
    container.services = dataclasses.replace(container.services, accounts=accounts)
    user = container.services.users.create("admin", ADMIN_PASSWORD, "admin", actor=None)
    server = ApiServer(create_app(container.services), "127.0.0.1", 0)
    await server.start()
    try:
        yield Station(container, server, Principal(user.id, user.username, user.role))
    finally:
        await server.stop()
        await container.aclose()


def _body(**changes: Any) -> dict[str, Any]:
    body = {"name": "main", "exchange_id": "binance", "api_key": KEY, "api_secret": SECRET}
    body.update(changes)
    return body


def _no_secret(text: str) -> None:
    assert KEY not in text and SECRET not in text


async def test_add_list_remove_account_never_echoes_secrets(
    client: httpx.AsyncClient, admin_headers: dict[str, str], station: Station
) -> None:
    created = await client.post("/accounts", json=_body(), headers=admin_headers)
    assert created.status_code == 201, created.text
    _no_secret(created.text)
    assert set(created.json()) == {"id", "name", "exchange_id", "sandbox", "created_at"}
    listed = await client.get("/accounts", headers=admin_headers)
    assert [a["name"] for a in listed.json()] == ["main"]
    _no_secret(listed.text)
    db_files = Path(station.container.settings.data_dir).glob("*.db*")
    raw = b"".join(p.read_bytes() for p in db_files)
    assert raw and KEY.encode() not in raw and SECRET.encode() not in raw
    gone = await client.delete(f"/accounts/{created.json()['id']}", headers=admin_headers)
    assert gone.status_code == 204
    assert (await client.get("/accounts", headers=admin_headers)).json() == []


async def test_invalid_body_error_does_not_echo_secrets(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad = await client.post("/accounts", json=_body(name="", extra=1), headers=admin_headers)
    assert bad.status_code == 422
    _no_secret(bad.text)


async def test_unknown_exchange_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad = await client.post("/accounts", json=_body(exchange_id="nope"), headers=admin_headers)
    assert bad.status_code == 422
    assert "unknown exchange 'nope'" in bad.json()["detail"]


async def test_connection_to_unreachable_exchange_reports_venue_error(
    client: httpx.AsyncClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = (await client.post("/accounts", json=_body(), headers=admin_headers)).json()
    tested = await client.post(f"/accounts/{created['id']}/test", headers=admin_headers)
    assert tested.status_code == 502
    assert tested.json()["error"] == "VenueError"
    assert "could not be reached" in tested.json()["detail"]
    balances = await client.get(f"/accounts/{created['id']}/balances", headers=admin_headers)
    assert balances.json()["error"] == "VenueError"
    _no_secret(tested.text + balances.text)
    for record in caplog.records:
        _no_secret(record.getMessage())


async def test_accounts_require_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/accounts")).status_code == 401
