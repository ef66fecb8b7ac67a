"""Event triggers over the real bus and services: prices crossing a level, moving within
a window, an indicator condition; bot events and P&L thresholds. Each firing is a run
whose alert carries what happened, for the action's templates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from task_station.domain.candles import Candle
from task_station.domain.events import BarClosed, PortfolioChanged
from task_station.domain.tasks import RunStatus, Task
from task_station.security.vault import SecretsVault
from tests.automation.support import (
    RecordingNotifier,
    Station,
    open_station,
    shared_vault_fixture,  # noqa: F401 - a fixture
    until,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def station(
    tmp_path: Path, shared_vault: SecretsVault, notifier: RecordingNotifier
) -> AsyncIterator[Station]:
    built = open_station(tmp_path / "station", shared_vault, notifier=notifier)
    await built.services.tasks.start()
    yield built
    await built.container.aclose()


def watch(station: Station, kind: str, config: dict[str, Any], title: str) -> Task:
    return station.services.tasks.create(
        station.admin,
        name=f"{kind} {title}",
        triggers=[{"kind": kind, "config": config}],
        actions=[{"kind": "notify", "config": {"title": title}}],
    )


def bars(
    station: Station, closes: Sequence[str], *, symbol: str = "BTC/USDT", bot: str = "b1"
) -> None:
    for i, close in enumerate(closes):
        price = Decimal(close)
        candle = Candle(T0 + timedelta(minutes=i), price, price, price, price, Decimal(1))
        station.services.events.publish(BarClosed(candle.ts, bot, "paper", symbol, "1m", candle))


async def fired(station: Station, task: Task, count: int) -> list[dict[str, Any]]:
    tasks = station.services.tasks
    await until(
        lambda: len([r for r in tasks.runs(task.id) if r.status.ended]) >= count,
        5,
        f"{count} runs of {task.name}",
    )
    runs = list(reversed(tasks.runs(task.id)))
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)
    return [r.payload or {} for r in runs]


async def test_price_crossing_a_level_fires_once_per_crossing(
    station: Station, notifier: RecordingNotifier
) -> None:
    up = watch(station, "price_cross", {"symbol": "BTC/USDT", "level": "100", "direction": "up"},
               "{{symbol}} above 100 at {{price}}")  # fmt: skip
    bars(station, ["98", "99", "101", "102", "99", "100.5"], symbol="BTC/USDT")
    bars(station, ["90", "120"], symbol="ETH/USDT")  # another symbol: not watched
    payloads = await fired(station, up, 2)
    assert [p["price"] for p in payloads] == ["101", "100.5"]
    assert payloads[0]["format"] == "event" and payloads[0]["bot_id"] == "b1"
    assert [s[1] for s in notifier.sent] == [
        "BTC/USDT above 100 at 101",
        "BTC/USDT above 100 at 100.5",
    ]
    run = station.services.tasks.runs(up.id)[0]
    assert run.cause == "event:price_cross" and run.trigger_id == up.triggers[0].id


async def test_a_move_within_the_window_fires_and_the_window_starts_again(station: Station) -> None:
    move = watch(
        station, "price_move",
        {"symbol": "BTC/USDT", "percent": "5", "window_seconds": 180, "direction": "down"}, "drop",
    )  # fmt: skip
    # 100 -> 94 within 3 minutes: 6 % down; then 94 -> 90 is only 4.3 % from the new start
    bars(station, ["100", "99", "94", "92", "90"])
    # a slow slide (more than 3 minutes per 5 %) never fires
    bars(station, ["200", "198", "196", "194", "192", "190"], bot="slow")
    payloads = await fired(station, move, 1)
    assert payloads[0]["price"] == "94" and payloads[0]["move_pct"] == "-6.00"
    assert len(station.services.tasks.runs(move.id)) == 1


async def test_indicator_crossing_fires_only_from_the_other_side(station: Station) -> None:
    sma = watch(
        station, "indicator",
        {"symbol": "BTC/USDT", "indicator": "sma", "period": 3, "condition": "crosses_above",
         "value": "105"}, "sma up",
    )  # fmt: skip
    # SMA(3): 100, 102, 104 (below), 108 (above: fires), 110, 108, 104 (below), 107 (fires)
    bars(station, ["100", "100", "100", "106", "106", "112", "112", "100", "100", "121"])
    payloads = await fired(station, sma, 2)
    assert [p["indicator"] for p in payloads] == ["108.0000", "107.0000"]


async def test_bot_events_fire_on_start_and_stop(station: Station) -> None:
    bot = station.bot()
    started = watch(
        station, "bot_event", {"event": "started", "bot_id": bot.id}, "{{bot}} {{event}}"
    )
    stopped = watch(station, "bot_event", {"event": "stopped"}, "any bot stopped")
    await station.services.bots.start(station.admin, bot.id)
    await station.services.bots.stop(station.admin, bot.id)
    assert (await fired(station, started, 1))[0]["event"] == "started"
    assert (await fired(station, stopped, 1))[0]["bot"] == "sma"


async def test_drawdown_threshold_fires_when_crossed_and_again_after_recovering(
    station: Station,
) -> None:
    dd = watch(station, "bot_pnl", {"bot_id": "b1", "drawdown_pct": "10"}, "drawdown")
    loss = watch(station, "bot_pnl", {"pnl_below": "-50"}, "loss")
    for equity in ("1000", "1100", "980", "970", "1100", "1200", "1050"):
        value = Decimal(equity)
        station.services.events.publish(
            PortfolioChanged(T0, "b1", value, value, value - 1000, Decimal(0))
        )
    drawdowns = await fired(station, dd, 2)  # 1100 -> 980 (10.9 %), then 1200 -> 1050 (12.5 %)
    assert [p["equity"] for p in drawdowns] == ["980", "1050"]
    assert drawdowns[1]["drawdown_pct"] == "12.50"
    assert station.services.tasks.runs(loss.id) == []  # never 50 below


async def test_bar_events_are_only_heard_while_a_trigger_watches_the_market(
    station: Station,
) -> None:
    triggers = station.automation.triggers
    assert BarClosed not in triggers.watching
    task = watch(station, "price_cross", {"symbol": "BTC/USDT", "level": "1"}, "x")
    assert BarClosed in triggers.watching
    station.services.tasks.set_enabled(station.admin, task.id, False)
    assert BarClosed not in triggers.watching
    bars(station, ["0.5", "2"])
    assert station.services.tasks.runs(task.id) == []
