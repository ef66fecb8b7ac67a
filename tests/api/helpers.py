"""Helpers shared by the API tests (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from task_station.api.server import ApiServer
from task_station.container import Container
from task_station.services.bundle import Services
from task_station.services.principal import Principal

ADMIN_PASSWORD = "admin-pw-Correct-Horse-1"


@dataclass
class Station:
    container: Container
    server: ApiServer
    admin: Principal

    @property
    def services(self) -> Services:
        return self.container.services

    @property
    def base_url(self) -> str:
        return self.server.url

    def ws_url(self, token: str | None = None) -> str:
        query = f"?token={token}" if token is not None else ""
        return f"ws://127.0.0.1:{self.server.port}/ws{query}"

    def add_user(self, username: str, password: str, role: str) -> None:
        self.services.users.create(username, password, role, actor=self.admin)


async def login(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Log in and return the access token (fails the test on anything but 200)."""
    response = await client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bot_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /bots`` body: a fast SMA cross on seeded synthetic data."""
    body: dict[str, Any] = {
        "name": "sma 3/8",
        "strategy": "sma_cross",
        "params": {"fast": 3, "slow": 8},
        "quote_budget": "1000",
        "data_source": "synthetic:7",
    }
    body.update(overrides)
    return body
