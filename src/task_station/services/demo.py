"""What a newcomer sees first: a demo admin and paper bots trading synthetic markets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from task_station.domain.bots import BotDefinition
from task_station.services.bundle import Services
from task_station.services.principal import Principal
from task_station.services.users import LoginResult

DEMO_BOTS = (
    ("Robo BTC 10/30", "BTC/USDT", "synthetic:7", {"fast": 10, "slow": 30}),
    ("Robo ETH 5/20", "ETH/USDT", "synthetic:11", {"fast": 5, "slow": 20}),
    ("Robo SOL 8/21", "SOL/USDT", "synthetic:23", {"fast": 8, "slow": 21}),
)


@dataclass(frozen=True, slots=True)
class DemoSession:
    login: LoginResult
    password: str
    bots: tuple[BotDefinition, ...]


async def seed_demo(services: Services, username: str = "demo") -> DemoSession:
    """Create the demo admin (random password), log in, create and start the demo bots."""
    password = secrets.token_urlsafe(12)
    services.users.create(username, password, "admin", actor=None)
    login = services.auth.login(username, password)
    bots = await start_demo_bots(services, login.principal)
    return DemoSession(login, password, bots)


async def start_demo_bots(services: Services, actor: Principal) -> tuple[BotDefinition, ...]:
    """Create and start the demo paper bots (the first-run wizard offers them too)."""
    bots = []
    for name, symbol, source, params in DEMO_BOTS:
        bot = services.bots.create(
            actor,
            name=name,
            strategy="sma_cross",
            params=params,
            quote_budget="10000",
            symbol=symbol,
            data_source=source,
        )
        bots.append(await services.bots.start(actor, bot.id))
    return tuple(bots)
