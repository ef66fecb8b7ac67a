"""The same bot flow on both databases: orders, fills and the book survive exactly."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from task_station.container import Container
from task_station.domain.bots import BotStatus
from task_station.domain.orders import OrderStatus
from tests.persistence.conftest import pg_admin  # noqa: F401  (fixture used by any_container)


async def test_bot_flow_persists_exactly_on_each_backend(any_container: Container) -> None:
    s = any_container.services
    s.users.create("admin", "admin-password", "admin", actor=None)
    admin = s.auth.login("admin", "admin-password").principal
    bot = s.bots.create(
        admin, name="pg", strategy="sma_cross", params={"fast": 4, "slow": 12},
        quote_budget="2500.125", data_source="synthetic:9", fee_bps="7.5",
    )  # fmt: skip
    await s.bots.start(admin, bot.id)
    while s.bots.is_running(bot.id):
        await asyncio.sleep(0.01)
    assert s.bots.get(bot.id).status is BotStatus.FINISHED
    assert s.bots.get(bot.id).fee_bps == Decimal("7.5")
    orders = s.orders.list(bot_id=bot.id, limit=5000)
    fills = s.orders.fills(bot_id=bot.id)
    # every order filled, except one sent on the last bar, canceled when the data ended
    unfilled = [o for o in orders if o.status is not OrderStatus.FILLED]
    assert orders and all(o.status is OrderStatus.CANCELED and not o.fills for o in unfilled)
    assert len(unfilled) <= 1
    assert sum(len(o.fills) for o in orders) == len(fills)
    book = s.portfolio.book(bot.id)
    spent = sum((f.price * f.quantity + f.fee for f in fills if f.side.value == "buy"), Decimal(0))
    got = sum((f.price * f.quantity - f.fee for f in fills if f.side.value == "sell"), Decimal(0))
    assert book.cash == Decimal("2500.125") - spent + got
