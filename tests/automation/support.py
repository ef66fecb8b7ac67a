"""Real stations for the task tests: the container, the automation attached, a user.

Unlocking the encrypted-file vault and each secret in it cost about a second (Argon2),
so a module unlocks one with a cheap key derivation (``shared_vault``) and every station
of the module uses it; everything else (the database, the bus, the services, the
automation) is built afresh for each station.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from keyrings.cryptfile.cryptfile import CryptFileKeyring

from task_station.automation import Automation, attach_automation
from task_station.config import Settings
from task_station.container import Container, build_container
from task_station.domain.bots import BotDefinition
from task_station.security.vault import SecretsVault
from task_station.services.bundle import Services
from task_station.services.principal import Principal

PASSWORD = "task-tests-password-1"


@pytest.fixture(scope="module", name="shared_vault")
def shared_vault_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretsVault]:
    """One unlocked vault for the module's stations (import this fixture to use it),
    with a cheap key derivation: the real one takes a second per secret."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CryptFileKeyring, "time_cost", 1)
        patch.setattr(CryptFileKeyring, "memory_cost", 1024)
        vault = SecretsVault(tmp_path_factory.mktemp("vault"), "cryptfile")
        vault.unlock("test-vault-password")
        yield vault


def station_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "keyring_backend": "cryptfile",
        "bcrypt_rounds": 4,
        "demo_pace_seconds": 0.002,
        "api_port": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Station:
    container: Container
    automation: Automation
    admin: Principal

    @property
    def services(self) -> Services:
        return self.container.services

    def user(self, name: str, role: str) -> Principal:
        user = self.services.users.create(name, PASSWORD, role, actor=self.admin)
        return Principal(user.id, user.username, user.role)

    def bot(self, name: str = "sma", **overrides: Any) -> BotDefinition:
        options: dict[str, Any] = {
            "name": name,
            "strategy": "sma_cross",
            "params": {"fast": 3, "slow": 8},
            "quote_budget": "10000",
            "data_source": "synthetic:7",
        }
        options.update(overrides)
        return self.services.bots.create(self.admin, **options)


def open_station(
    data_dir: Path,
    vault: SecretsVault,
    *,
    first: bool = True,
    settings: dict[str, Any] | None = None,
    **options: Any,
) -> Station:
    """A station on ``data_dir`` with the automation attached (not started).

    ``first``: create the admin; otherwise log in as the one already stored.
    ``settings`` override the station's settings; ``options`` go to the automation.
    """
    container = build_container(station_settings(data_dir, **(settings or {})), vault)
    automation = attach_automation(container.services, **options)
    users = container.services.users
    if first:
        users.create("admin", PASSWORD, "admin", actor=None)
    principal = container.services.auth.login("admin", PASSWORD).principal
    return Station(container, automation, principal)


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "it") -> None:
    """Await (letting the loop run) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class RecordingNotifier:
    """A notification service that keeps what it was asked to send; ``failures``
    transient errors first (then it works)."""

    failures: int = 0
    error: type[Exception] = ConnectionError
    sent: list[tuple[str, str, str, dict[str, object] | None]] = field(default_factory=list)
    calls: int = 0

    async def notify(
        self, kind: str, title: str, body: str, *, data: dict[str, object] | None = None
    ) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("the notification channel is unreachable")
        self.sent.append((kind, title, body, data))


@asynccontextmanager
async def served(station: Station) -> AsyncIterator[httpx.AsyncClient]:
    """The station's API on a loopback port, and an HTTP client for it."""
    from task_station.api.app import create_app
    from task_station.api.server import ApiServer

    server = ApiServer(create_app(station.services), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        await server.stop()


async def bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
