"""The kill switch and per-bot limits through the services, on the real container with
several paper bots trading at once (SQLite file, encrypted vault, replayed markets)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest

from task_station.container import Container
from task_station.domain.bots import BotStatus
from task_station.domain.commands import SubmitOrder
from task_station.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from task_station.domain.events import (
    BotStatusChanged,
    KillSwitchChanged,
    OrderDenied,
    OrderFilled,
)
from task_station.domain.orders import OrderSide, OrderStatus, OrderType
from task_station.domain.risk import RISK_PARAMS_KEY
from task_station.services.principal import Principal
from tests.services.test_bots_service import create_bot

OPEN = (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


async def until(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@pytest.fixture
def admin_of(paced_container: Container) -> Principal:
    s = paced_container.services
    s.users.create("admin", "admin-password", "admin", actor=None)
    return s.auth.login("admin", "admin-password").principal


def user(container: Container, admin: Principal, name: str, role: str) -> Principal:
    s = container.services
    s.users.create(name, f"{name}-password", role, actor=admin)
    return s.auth.login(name, f"{name}-password").principal


async def start_bots(container: Container, admin: Principal, n: int) -> list[str]:
    s = container.services
    ids = [
        create_bot(container, admin, name=f"bot {i}", data_source=f"synthetic:{i + 3}")
        for i in range(n)
    ]
    for bot_id in ids:
        await s.bots.start(admin, bot_id)
    runtimes = [s.bots._running[b].runtime for b in ids]
    await until(lambda: all(r.bars_seen >= 3 for r in runtimes), "the bots to trade")
    return ids


def resting_bid(bot_id: str, container: Container) -> SubmitOrder:
    """A buy far below the market: it rests at the venue until someone cancels it."""
    close = container.services.bots.bars(bot_id)[-1].close
    return SubmitOrder(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        quantity=Decimal("0.01"),
        price=(close / 2).quantize(Decimal("0.01")),
        bot_id=bot_id,
    )


async def test_kill_switch_stops_every_bot_cancels_every_order_and_denies_until_released(
    paced_container: Container, admin_of: Principal
) -> None:
    container, admin = paced_container, admin_of
    s = container.services
    switches: list[KillSwitchChanged] = []
    statuses: list[BotStatusChanged] = []
    denied: list[OrderDenied] = []
    s.events.subscribe(KillSwitchChanged, switches.append)
    s.events.subscribe(BotStatusChanged, statuses.append)
    s.events.subscribe(OrderDenied, denied.append)
    ids = await start_bots(container, admin, 3)
    entries = {b: s.bots._running[b] for b in ids}
    resting = {b: await entries[b].orders.submit(resting_bid(b, container)) for b in ids}
    assert all(o.status is OrderStatus.ACCEPTED for o in resting.values())

    report = await s.bots.kill_switch(admin, "  exchange outage  ")

    assert sorted(report.stopped_bots) == sorted(ids)
    assert report.canceled_orders >= len(ids)
    assert report.state.engaged and report.state.reason == "exchange outage"
    for bot_id in ids:
        bot = s.bots.get(bot_id)
        assert bot.status is BotStatus.STOPPED and not s.bots.is_running(bot_id)
        assert bot.error == "stopped by the kill switch: exchange outage"
        stored = container.database.orders.get(resting[bot_id].client_order_id)
        assert stored is not None and stored.status is OrderStatus.CANCELED
        assert not [o for o in s.orders.list(bot_id=bot_id) if o.status in OPEN]
    assert [(e.engaged, e.actor, e.reason) for e in switches] == [
        (True, "admin", "exchange outage")
    ]

    # until released: no bot starts and no order leaves, whoever sends it
    with pytest.raises(ConflictError, match="kill switch engaged by admin at .*exchange outage"):
        await s.bots.start(admin, ids[0])
    late = await entries[ids[1]].orders.submit(resting_bid(ids[1], container))
    assert late.status is OrderStatus.DENIED
    assert denied[-1].order.client_order_id == late.client_order_id
    assert denied[-1].reason.startswith("kill switch engaged by admin at ")
    assert denied[-1].reason.endswith(
        ": exchange outage; every new order is refused until it is released"
    )

    audit = container.database.audit.list_recent(200)
    actions = [(e.action, e.subject, e.detail) for e in audit]
    assert ("risk.kill_switch.engage", "station", "exchange outage") in actions
    for bot_id in ids:
        assert ("bot.stop", bot_id, "kill switch") in actions
        assert any(a == "order.cancel_all" and sub == bot_id for a, sub, _ in actions)
    assert all(e.actor == "admin" for e in audit if e.action.startswith("risk."))

    # a trader may pull the switch but not release it; an admin may
    trader = user(container, admin, "tess", "trader")
    with pytest.raises(PermissionDeniedError, match="may not release the kill switch; admins"):
        s.bots.release_kill_switch(trader)
    released = s.bots.release_kill_switch(admin)
    assert not released.engaged and not s.bots.global_risk.kill_switch.engaged
    assert "risk.kill_switch.release" in [e.action for e in container.database.audit.list_recent()]
    with pytest.raises(ConflictError, match="not engaged"):
        s.bots.release_kill_switch(admin)

    # ... and trading starts again
    fills: list[OrderFilled] = []
    s.events.subscribe(OrderFilled, fills.append)
    await s.bots.start(admin, ids[0])
    await until(lambda: any(f.fill.bot_id == ids[0] for f in fills), "a fill after release")
    await s.bots.stop(admin, ids[0])


async def test_traders_may_engage_viewers_may_not_and_a_reason_is_required(
    paced_container: Container, admin_of: Principal
) -> None:
    s = paced_container.services
    viewer = user(paced_container, admin_of, "vera", "viewer")
    trader = user(paced_container, admin_of, "tess", "trader")
    with pytest.raises(PermissionDeniedError, match="may not engage the kill switch"):
        await s.bots.kill_switch(viewer, "panic")
    with pytest.raises(ValidationError, match="say why the kill switch is engaged"):
        await s.bots.kill_switch(trader, "   ")
    assert not s.bots.global_risk.kill_switch.engaged
    report = await s.bots.kill_switch(trader, "fat finger")  # nothing running: still engaged
    assert report.stopped_bots == () and report.state.actor == "tess"
    assert s.bots.risk().kill_switch.engaged


async def test_limits_given_at_creation_are_stored_and_enforced(
    paced_container: Container, admin_of: Principal
) -> None:
    s = paced_container.services
    denied: list[OrderDenied] = []
    s.events.subscribe(OrderDenied, denied.append)
    bot_id = create_bot(
        paced_container,
        admin_of,
        risk_limits={"max_order_notional": "5"},
        stops={"stop_loss_pct": "2"},
    )
    stored = s.bots.get(bot_id)
    assert stored.params[RISK_PARAMS_KEY] == {
        "limits": {"max_order_notional": "5"},
        "stops": {"stop_loss_pct": "2"},
    }
    (view,) = s.bots.risk().bots
    assert view.limits.max_order_notional == Decimal(5) and not view.running
    assert view.stops.stop_loss_pct == Decimal(2)
    await s.bots.start(admin_of, bot_id)
    await until(lambda: any(d.order.bot_id == bot_id for d in denied), "a denied order")
    await s.bots.stop(admin_of, bot_id)
    reason = next(d.reason for d in denied if d.order.bot_id == bot_id)
    assert "above the bot's limit 5 USDT" in reason
    assert s.orders.fills(bot_id=bot_id) == []  # every buy was above 5 USDT


def test_bad_limits_at_creation_are_refused_and_nothing_is_stored(
    paced_container: Container, admin_of: Principal
) -> None:
    s = paced_container.services
    with pytest.raises(ValidationError, match="max_drawdown is a fraction of peak equity"):
        create_bot(paced_container, admin_of, risk_limits={"max_drawdown": "25"})
    with pytest.raises(ValidationError, match="unknown position stop field"):
        create_bot(paced_container, admin_of, stops={"stoploss": "2"})
    assert s.bots.list() == []


async def test_a_drawdown_pause_is_shown_on_the_bot_and_a_trader_resumes_it(
    paced_container: Container, admin_of: Principal
) -> None:
    s = paced_container.services
    # a drawdown of 0.01 % is crossed by the fee of the first trade
    bot_id = create_bot(paced_container, admin_of, risk_limits={"max_drawdown": "0.0001"})
    await s.bots.start(admin_of, bot_id)
    await until(lambda: (s.bots.get(bot_id).error or "").startswith("paused"), "the pause")
    bot = s.bots.get(bot_id)
    assert bot.status is BotStatus.PAUSED  # paused, not stopped: its stops still work
    assert bot.error is not None and bot.error.startswith("paused by a risk limit: drawdown ")
    (view,) = s.bots.risk().bots
    assert view.running and view.paused_reason is not None
    assert "bot.pause" in [e.action for e in paced_container.database.audit.list_recent()]
    resumed = s.bots.resume(admin_of, bot_id)
    assert resumed.status is BotStatus.RUNNING and resumed.error is None
    assert s.bots._running[bot_id].runtime.paused_reason is None
    await s.bots.stop(admin_of, bot_id)
    with pytest.raises(ConflictError, match="is not paused"):
        s.bots.resume(admin_of, bot_id)
