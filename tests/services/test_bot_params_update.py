"""Changing a stopped bot's parameters: validated first, stored and announced, refused
while it runs, and never by a viewer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from task_station.container import Container
from task_station.domain.bots import BotDefinition
from task_station.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from task_station.domain.events import BotStatusChanged
from task_station.domain.risk import split_bot_params
from task_station.services.principal import Principal

from .test_bots_service import create_bot


def test_new_parameters_are_stored_with_the_stops_and_limits_kept(
    container: Container, admin: Principal
) -> None:
    s = container.services
    seen: list[BotDefinition] = []
    s.events.subscribe(BotStatusChanged, lambda e: seen.append(s.bots.get(e.bot_id)))
    bot_id = create_bot(
        container,
        admin,
        strategy="grid",
        params={"lower": "90", "upper": "110", "levels": 5},
        stops={"stop_loss_pct": "5"},
        risk_limits={"max_order_notional": "800"},
    )
    updated = s.bots.update_params(admin, bot_id, {"lower": "95", "upper": "120", "levels": 7})
    strategy, limits, stops = split_bot_params(updated.params)
    assert strategy["lower"] == "95" and strategy["upper"] == "120" and strategy["levels"] == 7
    assert stops.stop_loss_pct == Decimal(5)  # untouched when not given
    assert limits.max_order_notional == Decimal(800)
    assert split_bot_params(s.bots.get(bot_id).params)[0]["upper"] == "120"  # stored
    assert seen and split_bot_params(seen[-1].params)[0]["upper"] == "120"  # announced

    again = s.bots.update_params(admin, bot_id, strategy, stops={"take_profit_pct": "3"})
    _, _, stops = split_bot_params(again.params)
    assert stops.stop_loss_pct is None and stops.take_profit_pct == Decimal(3)


def test_invalid_parameters_change_nothing(container: Container, admin: Principal) -> None:
    s = container.services
    bot_id = create_bot(container, admin, params={"fast": 3, "slow": 8})
    before = s.bots.get(bot_id).params
    with pytest.raises(ValidationError, match="fast"):
        s.bots.update_params(admin, bot_id, {"fast": 9, "slow": 4})
    with pytest.raises(ValidationError):
        s.bots.update_params(admin, bot_id, {"fast": 3, "slow": 8}, stops={"stop_loss_pct": "150"})
    assert s.bots.get(bot_id).params == before


async def test_a_running_bot_keeps_its_parameters(
    paced_container: Container,
) -> None:
    s = paced_container.services
    s.users.create("admin", "admin-password", "admin", actor=None)
    admin = s.auth.login("admin", "admin-password").principal
    bot_id = create_bot(paced_container, admin)
    await s.bots.start(admin, bot_id)
    try:
        with pytest.raises(ConflictError, match="stop it"):
            s.bots.update_params(admin, bot_id, {"fast": 4, "slow": 9})
    finally:
        await s.bots.stop(admin, bot_id)
    assert s.bots.update_params(admin, bot_id, {"fast": 4, "slow": 9}).params["fast"] == 4


def test_viewers_may_not_change_parameters(container: Container, admin: Principal) -> None:
    s = container.services
    s.users.create("vera", "viewer-password", "viewer", actor=admin)
    viewer = s.auth.login("vera", "viewer-password").principal
    bot_id = create_bot(container, admin)
    with pytest.raises(PermissionDeniedError):
        s.bots.update_params(viewer, bot_id, {"fast": 4, "slow": 9})
