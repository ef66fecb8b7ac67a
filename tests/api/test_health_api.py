"""Liveness and readiness over real loopback HTTP, without logging in."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from task_station.persistence.backup import head_revision
from task_station.services.health import ComponentHealth, Status
from tests.api.helpers import Station

HEALTHCHECK = Path(__file__).resolve().parents[2] / "packaging" / "docker" / "healthcheck.py"


async def test_liveness_answers_without_login(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/health/live"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json()["status"] == "ok"


async def test_readiness_reports_each_component(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and body["ready"] is True
    components = body["components"]
    assert set(components) == {"database", "venues", "feeds", "scheduler", "event_loop"}
    assert components["database"] == {
        "status": "ok", "detail": f"schema {head_revision()}", "value": components["database"]["value"]
    }  # fmt: skip
    assert components["feeds"]["status"] == "not configured"
    assert components["event_loop"]["status"] == "ok"
    assert "sqlite" not in response.text and "station.db" not in response.text  # no paths


async def test_readiness_with_a_component_down_answers_503(
    station: Station, client: httpx.AsyncClient
) -> None:
    async def database_gone() -> ComponentHealth:
        return ComponentHealth("database", Status.DOWN, "unreachable: OperationalError")

    station.services.health.register("database", database_gone)
    response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False and body["status"] == "not ready"
    assert body["components"]["database"]["detail"] == "unreachable: OperationalError"
    assert (await client.get("/health/live")).status_code == 200  # alive all the same


async def test_the_container_healthcheck_script_follows_readiness(
    station: Station, client: httpx.AsyncClient
) -> None:
    """packaging/docker/healthcheck.py, run as Docker runs it, against the real API."""
    env = {**os.environ, "TASK_API_PORT": str(station.server.port)}

    async def healthcheck(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(HEALTHCHECK), *args, env=env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode().strip()

    assert await healthcheck() == (0, "ready")

    async def feeds_down() -> ComponentHealth:
        return ComponentHealth("feeds", Status.DOWN, "binance: no bar for 10 min")

    station.services.health.register("feeds", feeds_down)
    code, said = await healthcheck()
    assert code == 1 and said.startswith("not ready") and "'feeds': 'down'" in said
    assert await healthcheck("--live") == (0, "ok")
