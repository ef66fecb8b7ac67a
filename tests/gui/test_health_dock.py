"""The Health dock shows the real station's readiness and counters, and a failure."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pytestqt.qtbot import QtBot

from task_station.domain.bots import BotStatus
from task_station.domain.events import BotStatusChanged, OrderFilled, OrderUpdated
from task_station.domain.orders import Fill, Order, OrderSide, OrderType
from task_station.gui.docks.health import HealthDock
from task_station.services.bundle import Services
from task_station.services.health import ComponentHealth, Status
from task_station.services.users import LoginResult

from .helpers import make_bot, until

Run = Callable[[Coroutine[Any, Any, Any]], Any]
NOW = datetime(2026, 1, 5, tzinfo=UTC)


def test_health_dock_shows_components_counters_and_a_failure(
    qtbot: QtBot, services: Services, admin: LoginResult, run: Run
) -> None:
    dock = HealthDock(services.health, services.metrics, refresh_ms=50)
    qtbot.addWidget(dock)
    dock.show()
    bot = make_bot(services, admin, "trend", seed=11)

    async def scenario() -> None:
        assert dock.readiness is None  # the dock runs no checks of its own
        services.health.start()  # as the running station does: checks every few seconds
        try:
            await until(lambda: dock.readiness is not None, what="the station's check")
        finally:
            await services.health.stop()
        assert dock.status_of("database") == "ok"
        assert dock.status_of("feeds") == "not configured"
        assert dock.status_of("event loop") == "ok"
        assert dock.summary.text().startswith("Station ready")
        # what a trading bot publishes (the API test runs a real one)
        services.events.publish(BotStatusChanged(NOW, bot.id, bot.name, BotStatus.RUNNING))
        order = Order(
            client_order_id="o-1", venue="paper", symbol="BTC/USDT", side=OrderSide.BUY,
            type=OrderType.MARKET, created_at=NOW, quantity=Decimal("1"),
        ).submit(NOW)  # fmt: skip
        services.events.publish(OrderUpdated(NOW, order))
        fill = Fill("t-1", "o-1", "BTC/USDT", OrderSide.BUY, Decimal("100"), Decimal("1"),
                    Decimal("0.1"), "USDT", "taker", NOW)  # fmt: skip
        services.events.publish(OrderFilled(NOW, order.fill(fill, complete=True), fill))

        async def broken() -> ComponentHealth:
            return ComponentHealth("scheduler", Status.DOWN, "stopped")

        services.health.register("scheduler", broken)
        checked = dock.readiness
        dock.refresh_button.click()
        await until(lambda: dock.readiness is not checked, what="the second check")

    run(scenario())
    assert dock.status_of("scheduler") == "down"
    assert dock.summary.text().startswith("Station not ready")
    for shown in ("Orders sent: 1", "Filled: 1", "Fills: 1", "Rejected: 0", "Bots running: 1"):
        assert shown in dock.counters.text()
