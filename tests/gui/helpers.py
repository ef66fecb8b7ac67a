"""Helpers shared by the GUI tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from task_station.domain.bots import BotDefinition
from task_station.services.bundle import Services
from task_station.services.users import LoginResult

ADMIN_PASSWORD = "correct-horse-battery"


async def until(
    predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition"
) -> None:
    """Await (letting Qt and the bots run) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)


def make_bot(
    services: Services, login: LoginResult, name: str, seed: int, fast: int = 3, slow: int = 8
) -> BotDefinition:
    return services.bots.create(
        login.principal,
        name=name,
        strategy="sma_cross",
        params={"fast": fast, "slow": slow},
        quote_budget="10000",
        data_source=f"synthetic:{seed}",
    )


async def settle(seconds: float = 0.3) -> None:
    """Let pending coalesced refreshes (single-shot timers) fire."""
    await asyncio.sleep(seconds)
