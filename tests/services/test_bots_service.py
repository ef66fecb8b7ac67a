"""Bots through the services, on the real container (SQLite file, encrypted vault)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from task_station.container import Container
from task_station.domain.bots import BotStatus
from task_station.domain.errors import (
    ConflictError,
    DataError,
    PermissionDeniedError,
    ValidationError,
)
from task_station.domain.events import BotStatusChanged, OrderFilled
from task_station.domain.money import ZERO
from task_station.domain.orders import OrderSide
from task_station.services.principal import Principal


async def wait_finished(container: Container, bot_id: str, timeout: float = 60) -> None:
    async def poll() -> None:
        while container.services.bots.is_running(bot_id):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def create_bot(container: Container, actor: Principal, **kw: object) -> str:
    values: dict[str, object] = {
        "name": "b",
        "strategy": "sma_cross",
        "params": {"fast": 3, "slow": 8},
        "quote_budget": "1000",
        "data_source": "synthetic:5",
    }
    values.update(kw)
    return container.services.bots.create(actor, **values).id  # type: ignore[arg-type]


async def test_bot_runs_to_the_end_and_its_book_equals_its_fills(
    container: Container, admin: Principal
) -> None:
    s = container.services
    fills: list[OrderFilled] = []
    s.events.subscribe(OrderFilled, fills.append)
    bot_id = create_bot(container, admin, fee_bps="10")
    await s.bots.start(admin, bot_id)
    await wait_finished(container, bot_id)
    assert s.bots.get(bot_id).status is BotStatus.FINISHED
    stored = s.orders.fills(bot_id=bot_id)
    assert [f.fill.trade_id for f in fills] == [f.trade_id for f in stored]
    assert len(stored) > 10
    cash = Decimal("1000")
    base = ZERO
    for f in stored:
        assert f.fee == f.price * f.quantity * Decimal("0.001")
        if f.side is OrderSide.BUY:
            cash -= f.price * f.quantity + f.fee
            base += f.quantity
        else:
            cash += f.price * f.quantity - f.fee
            base -= f.quantity
    book = s.portfolio.book(bot_id)
    assert book.cash == cash
    assert book.balances.get("BTC", ZERO) == base
    last_close = s.bots.bars(bot_id)[-1].close
    assert book.equity == cash + base * last_close
    assert book.fees_paid == sum((f.fee for f in stored), ZERO)


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        ({"strategy": "nope"}, ValidationError, "unknown strategy"),
        ({"params": {"fast": 9, "slow": 3}}, ValidationError, "must be smaller"),
        ({"quote_budget": "-5"}, ValidationError, "must be positive"),
        ({"quote_budget": "abc"}, ValidationError, "not a number"),
        ({"symbol": "BTCUSDT"}, ValidationError, "BASE/QUOTE"),
        ({"data_source": "file:/nonexistent.csv"}, DataError, "does not exist"),
        ({"data_source": "ftp:x"}, ValidationError, "synthetic:SEED"),
        ({"name": "  "}, ValidationError, "1-80 characters"),
        (
            {"strategy": "pairs_trading", "params": {}},
            ValidationError,
            "pairs_trading trades 2 or more symbols together",
        ),
    ],
)
def test_bad_bot_definitions_are_refused_and_nothing_is_stored(
    container: Container,
    admin: Principal,
    kw: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        create_bot(container, admin, **kw)
    assert container.services.bots.list() == []


async def test_starting_twice_conflicts_and_stop_stops(
    container: Container, admin: Principal
) -> None:
    s = container.services
    statuses: list[BotStatus] = []
    s.events.subscribe(BotStatusChanged, lambda e: statuses.append(e.status))
    container.services.bots._pace = 0.01  # slow enough to stop mid-run
    bot_id = create_bot(container, admin)
    await s.bots.start(admin, bot_id)
    with pytest.raises(ConflictError, match="already running"):
        await s.bots.start(admin, bot_id)
    stopped = await s.bots.stop(admin, bot_id)
    assert stopped.status is BotStatus.STOPPED
    assert statuses == [
        BotStatus.CREATED,
        BotStatus.STARTING,
        BotStatus.RUNNING,
        BotStatus.STOPPING,
        BotStatus.STOPPED,
    ]
    with pytest.raises(ConflictError, match="not running"):
        await s.bots.stop(admin, bot_id)


def test_viewer_may_not_create_bots(container: Container, admin: Principal) -> None:
    s = container.services
    s.users.create("vera", "viewer-password", "viewer", actor=admin)
    viewer = s.auth.login("vera", "viewer-password").principal
    with pytest.raises(PermissionDeniedError, match="may not create bots"):
        create_bot(container, viewer)
    assert s.bots.list() == []


def test_wrong_password_is_refused_the_same_way_for_unknown_users(
    container: Container, admin: Principal
) -> None:
    from task_station.domain.errors import AuthenticationError

    for user in ("admin", "nobody"):
        with pytest.raises(AuthenticationError, match="^wrong username or password$"):
            container.services.auth.login(user, "not-the-password")


async def test_a_second_container_on_the_same_database_changes_no_bot_until_started(
    paced_container: Container,
) -> None:
    """Building a container (``task-station user create`` does) resumes nothing; only
    ``Container.start`` does (see tests/services/test_bot_lifecycle.py)."""
    from task_station.container import build_container

    container = paced_container
    container.services.users.create("admin", "admin-password", "admin", actor=None)
    admin = container.services.auth.login("admin", "admin-password").principal
    bot_id = create_bot(container, admin)
    await container.services.bots.start(admin, bot_id)
    other = build_container(container.settings)
    try:
        bot = other.services.bots.get(bot_id)
        assert bot.status is BotStatus.RUNNING and bot.error is None
        assert not other.services.bots.is_running(bot_id)
    finally:
        await other.aclose()


async def test_orders_left_open_by_a_crash_are_settled_when_the_bot_restarts(
    paced_container: Container,
) -> None:
    from datetime import UTC, datetime

    from task_station.domain.orders import Order, OrderStatus, OrderType

    container = paced_container
    s = container.services
    s.users.create("admin", "admin-password", "admin", actor=None)
    admin = s.auth.login("admin", "admin-password").principal
    bot_id = create_bot(container, admin)
    stale = Order(
        "stale-1", "paper", "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, datetime(2023, 1, 1, tzinfo=UTC),
        quantity=Decimal("0.1"), price=Decimal("100"), bot_id=bot_id,
    )  # fmt: skip
    container.database.orders.add(stale)
    container.database.orders.update(stale.submit(stale.created_at).accept("P9", stale.created_at))
    await s.bots.start(admin, bot_id)
    await s.bots.stop(admin, bot_id)
    settled = s.orders.list(bot_id=bot_id, status="canceled")
    assert [o.client_order_id for o in settled if o.client_order_id == "stale-1"] == ["stale-1"]
    assert "no longer knows" in (settled[-1].reason or "") or any(
        "no longer knows" in (o.reason or "") for o in settled
    )
    assert s.orders.list(bot_id=bot_id, status=OrderStatus.ACCEPTED.value) == []
