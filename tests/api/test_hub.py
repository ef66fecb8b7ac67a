"""The hub's promises without a server: never block the bus, drop oldest, conflate."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from task_station.api.hub import EventHub, Outbox, OutboxClosed
from task_station.domain.bots import BotStatus
from task_station.domain.events import BotStatusChanged, PortfolioChanged
from task_station.engine.bus import EventBus

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _status(n: int) -> BotStatusChanged:
    return BotStatusChanged(T0, f"bot-{n}", f"bot {n}", BotStatus.RUNNING)


def _portfolio(bot_id: str, equity: str) -> PortfolioChanged:
    value = Decimal(equity)
    return PortfolioChanged(T0, bot_id, value, value, Decimal(0), Decimal(0))


async def _drain(outbox: Outbox) -> list[dict[str, Any]]:
    messages = []
    while len(outbox):
        messages.append(json.loads(await outbox.get()))
    return messages


async def test_outbox_full_drops_oldest_and_counts() -> None:
    outbox = Outbox(maxsize=3)
    for n in range(5):
        outbox.put(str(n))
    assert outbox.take_dropped() == 2
    assert outbox.take_dropped() == 0
    assert [await outbox.get() for _ in range(3)] == ["2", "3", "4"]


async def test_outbox_closed_and_empty_raises_outbox_closed() -> None:
    outbox = Outbox(maxsize=2)
    outbox.put("last")
    outbox.close()
    assert await outbox.get() == "last"
    with pytest.raises(OutboxClosed):
        await outbox.get()


async def test_outbox_get_waits_for_put() -> None:
    outbox = Outbox(maxsize=2)
    waiter = asyncio.create_task(outbox.get())
    await asyncio.sleep(0)
    assert not waiter.done()
    outbox.put("x")
    assert await asyncio.wait_for(waiter, 1) == "x"


async def test_hub_slow_client_never_blocks_publish() -> None:
    bus = EventBus()
    hub = EventHub(bus, queue_size=10)
    hub.start()
    subscriber = hub.connect()
    for n in range(1000):
        bus.publish(_status(n))  # synchronous: must return at once though nobody reads
    assert len(subscriber.outbox) == 10
    assert subscriber.outbox.take_dropped() == 990
    newest = await _drain(subscriber.outbox)
    assert [m["data"]["bot_id"] for m in newest] == [f"bot-{n}" for n in range(990, 1000)]
    hub.stop()


async def test_hub_portfolio_snapshots_conflate_after_earlier_events() -> None:
    bus = EventBus()
    hub = EventHub(bus)
    hub.start()
    subscriber = hub.connect()
    bus.publish(_portfolio("a", "1"))
    bus.publish(_status(1))
    bus.publish(_portfolio("b", "5"))
    bus.publish(_portfolio("a", "2"))
    messages = await _drain(subscriber.outbox)
    summary = [(m["type"], m["data"].get("bot_id"), m["data"].get("equity")) for m in messages]
    assert summary == [
        ("bot_status", "bot-1", None),
        ("portfolio", "b", "5"),
        ("portfolio", "a", "2"),
    ]
    hub.stop()


async def test_hub_stop_unsubscribes_and_closes_connections() -> None:
    bus = EventBus()
    hub = EventHub(bus)
    hub.start()
    subscriber = hub.connect()
    hub.stop()
    bus.publish(_status(1))
    assert len(subscriber.outbox) == 0
    with pytest.raises(OutboxClosed):
        await subscriber.outbox.get()
    assert hub.connections == 0


async def test_hub_bars_unsubscribed_are_not_queued() -> None:
    from task_station.domain.candles import Candle
    from task_station.domain.events import BarClosed

    bus = EventBus()
    hub = EventHub(bus)
    hub.start()
    quiet, curious = hub.connect(), hub.connect()
    curious.topics.add("bars")
    price = Decimal(100)
    candle = Candle(T0, price, price, price, price, Decimal(1))
    bus.publish(BarClosed(T0, "bot", "paper", "BTC/USDT", "1h", candle))
    assert len(quiet.outbox) == 0
    assert len(curious.outbox) == 1
    hub.stop()
