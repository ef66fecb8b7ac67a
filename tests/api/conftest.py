"""A real station behind a real loopback HTTP server, started on the test's own loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from task_station.api.app import create_app
from task_station.api.options import ApiOptions
from task_station.api.server import ApiServer
from task_station.config import Settings
from task_station.container import build_container
from task_station.services.principal import Principal
from tests.api.helpers import ADMIN_PASSWORD, Station, bearer, login


@pytest.fixture
def station_settings() -> dict[str, Any]:
    """Settings overrides for the station; a module redefines this fixture to change them.

    A demo pace of 1 ms makes a bot's replay sleep between bars, so HTTP requests and
    WebSocket messages interleave with it (at pace 0 the replay keeps the loop for 512
    bars at a time).
    """
    return {"demo_pace_seconds": 0.001}


@pytest.fixture
def api_options() -> ApiOptions:
    """The API's hardening options; a module redefines this fixture to change them."""
    return ApiOptions()


@pytest.fixture
async def station(
    settings_factory: Callable[..., Settings],
    station_settings: dict[str, Any],
    api_options: ApiOptions,
) -> AsyncIterator[Station]:
    container = build_container(settings_factory(**station_settings))
    user = container.services.users.create("admin", ADMIN_PASSWORD, "admin", actor=None)
    server = ApiServer(create_app(container.services, options=api_options), "127.0.0.1", 0)
    await server.start()
    try:
        yield Station(container, server, Principal(user.id, user.username, user.role))
    finally:
        await server.stop()
        await container.aclose()


@pytest.fixture
async def client(station: Station) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=station.base_url, timeout=30) as http:
        yield http


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(client, "admin", ADMIN_PASSWORD))
