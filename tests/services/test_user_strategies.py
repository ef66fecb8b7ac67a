"""The trader's strategy files through the real container: listed with their origin,
reloaded on command, run by paper bots and backtests; broken files are reported."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from task_station.container import Container, build_container
from task_station.domain.bots import BotStatus
from task_station.domain.errors import PermissionDeniedError, ValidationError
from task_station.domain.orders import OrderSide
from task_station.domain.users import Role
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame
from task_station.services.principal import Principal
from tests.support.user_strategy import BROKEN, hold, write_strategy


def folder(container: Container) -> Path:
    return container.settings.data_dir / "strategies"


async def run_until_first_fill_then_stop(
    container: Container, actor: Principal, bot_id: str
) -> Decimal:
    """Start the bot, wait for its buy, stop it; return what the buy cost."""
    s = container.services
    await s.bots.start(actor, bot_id)

    async def filled() -> None:
        while not s.orders.fills(bot_id=bot_id):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(filled(), 60)
    await s.bots.stop(actor, bot_id)
    assert s.bots.get(bot_id).status is BotStatus.STOPPED
    [fill] = s.orders.fills(bot_id=bot_id)
    assert fill.side is OrderSide.BUY
    return fill.price * fill.quantity


def create(container: Container, actor: Principal, name: str) -> str:
    bot = container.services.bots.create(
        actor,
        name=name,
        strategy="my_hold",
        params={},
        quote_budget="1000",
        data_source="synthetic:5",
        fee_bps="0",
    )
    return bot.id


async def test_the_container_creates_the_folder_and_lists_builtins(container: Container) -> None:
    assert folder(container).is_dir()
    listed = container.services.strategies.list()
    assert "sma_cross" in [s.name for s in listed]
    assert {s.origin for s in listed} == {"builtin"}


async def test_a_file_present_at_start_is_offered(
    settings_factory: Callable[..., Any],
) -> None:
    settings = settings_factory()
    write_strategy(settings.data_dir / "strategies", hold())
    container = build_container(settings)
    try:
        info = container.services.strategies.get("my_hold")
        assert (info.origin, info.path) == ("user", settings.data_dir / "strategies" / "my_hold.py")
    finally:
        await container.aclose()


async def test_a_user_strategy_trades_in_a_paper_bot_and_an_edit_changes_new_runs(
    paced_container: Container, settings_factory: Callable[..., Any]
) -> None:
    container = paced_container
    s = container.services
    s.users.create("admin", "admin-password", "admin", actor=None)
    admin = s.auth.login("admin", "admin-password").principal
    write_strategy(folder(container), hold("0.5"))
    reloaded = s.strategies.reload(admin)
    assert reloaded.added == ("my_hold",) and reloaded.errors == ()
    assert reloaded.summary == "strategies: added my_hold"
    assert s.strategies.get("my_hold").origin == "user"

    half = await run_until_first_fill_then_stop(container, admin, create(container, admin, "a"))
    assert Decimal(499) < half <= Decimal(500)

    write_strategy(folder(container), hold("0.25"))
    assert s.strategies.reload(admin).updated == ("my_hold",)
    quarter = await run_until_first_fill_then_stop(container, admin, create(container, admin, "b"))
    assert Decimal(249) < quarter <= Decimal(250)
    assert [e.action for e in container.database.audit.list_recent()].count(
        "strategies.reload"
    ) == 2


async def test_a_user_strategy_backtests_through_the_service(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    data = tmp_path / "BTC_USDT-1h.parquet"
    generate_frame(SyntheticMarketSpec(seed=3)).to_parquet(data)
    write_strategy(folder(container), hold("0.5"))
    container.services.strategies.reload(admin)
    result = await container.services.backtests.run(
        strategy="my_hold", params={"delay": "3"}, data=data, cash="1000"
    )
    [buy] = result.fills
    assert Decimal(499) < buy.price * buy.quantity <= Decimal(500)
    assert result.params == {"delay": 3}


async def test_a_broken_file_is_reported_and_the_others_still_work(
    container: Container, admin: Principal
) -> None:
    write_strategy(folder(container), hold())
    write_strategy(folder(container), BROKEN, "broken.py")
    result = container.services.strategies.reload(admin)
    assert result.added == ("my_hold",)
    assert result.errors == ("broken.py:4: syntax error: expected ':'",)
    assert result.summary == "strategies: added my_hold; 1 problem(s) in your strategy files"
    assert container.services.strategies.errors() == list(result.errors)
    create(container, admin, "still works")
    with pytest.raises(ValidationError, match="unknown strategy 'broken'"):
        container.services.bots.create(
            admin, name="x", strategy="broken", params={}, quote_budget="10"
        )


async def test_reloading_needs_a_trader_and_polling_is_silent_without_change(
    container: Container,
) -> None:
    viewer = Principal("v1", "vera", Role.VIEWER)
    with pytest.raises(PermissionDeniedError, match="may not reload strategy files"):
        container.services.strategies.reload(viewer)
    assert not container.services.strategies.poll().changed
    write_strategy(folder(container), hold())
    assert container.services.strategies.poll().added == ("my_hold",)
    assert not container.services.strategies.poll().changed
