"""ApiServer: uvicorn as a task on the running loop, with no hold on signals."""

from __future__ import annotations

import signal

import httpx
import pytest

from task_station.api.app import create_app
from task_station.api.server import ApiServer, ApiStartupError
from tests.api.helpers import Station


async def test_server_port_zero_binds_real_port_and_keeps_signal_handlers(
    station: Station,
) -> None:
    before = signal.getsignal(signal.SIGINT)
    server = ApiServer(create_app(station.services), "127.0.0.1", 0)
    await server.start()
    try:
        assert server.port > 0
        assert server.port != station.server.port
        assert signal.getsignal(signal.SIGINT) is before
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/health")).status_code == 200
    finally:
        await server.stop()
    assert signal.getsignal(signal.SIGINT) is before


async def test_server_port_in_use_raises_startup_error(station: Station) -> None:
    clash = ApiServer(create_app(station.services), "127.0.0.1", station.server.port)
    with pytest.raises(ApiStartupError):
        await clash.start()
    async with httpx.AsyncClient(base_url=station.base_url) as client:
        assert (await client.get("/health")).status_code == 200


async def test_server_stop_before_start_returns_quietly() -> None:
    from fastapi import FastAPI

    await ApiServer(FastAPI(), "127.0.0.1", 0).stop()
