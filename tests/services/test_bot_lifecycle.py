"""The bot lifecycle is stored, and bots resume where they were after a restart.

Every scenario runs the real container on a SQLite file; a "restart" is a second
container built on the same file and started (``Container.start``), as ``task-station
serve`` and the GUI do. A crash is simulated by canceling the bot's task: nothing of the
graceful stop path runs, so the database is left as a killed process would leave it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from task_station.config import Settings
from task_station.container import Container, build_container
from task_station.domain.bots import BotStatus
from task_station.domain.errors import ConflictError
from task_station.domain.events import BotStatusChanged
from task_station.services.principal import Principal
from tests.services.test_bots_service import create_bot, wait_finished

FAST = {"fast": 3, "slow": 8}  # trades often on synthetic:5


async def until(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll in this very task: once ``predicate`` holds, the caller goes on before any
    other task runs (``wait_for`` would hand the loop one more turn, in which a bot can
    process another bar and, say, send the order a "quiet" stop point had not)."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


def admin_on(container: Container) -> Principal:
    users = container.services.users
    if users.needs_first_admin():
        users.create("admin", "admin-password", "admin", actor=None)
    return container.services.auth.login("admin", "admin-password").principal


async def restart(settings: Settings) -> Container:
    station = build_container(settings)
    await station.start()
    return station


def fills_of(container: Container, bot_id: str) -> list[tuple[Any, ...]]:
    """What was traded, without the ids that differ from run to run."""
    return [
        (f.side, f.price, f.quantity, f.fee, f.ts)
        for f in container.services.orders.fills(bot_id=bot_id)
    ]


def quiet_after(container: Container, bot_id: str, bars: int) -> Callable[[], bool]:
    """True once the bot processed ``bars`` bars, has traded, and has no open order
    (a simulated venue's working orders end with the process)."""
    entry = container.services.bots._running[bot_id]

    def ready() -> bool:
        return (
            entry.runtime.bars_seen >= bars
            and not entry.orders.open_orders
            and bool(container.services.orders.fills(bot_id=bot_id))
        )

    return ready


async def crash(container: Container, bot_id: str) -> int:
    """Cancel the bot's task (no graceful stop runs); returns the bars it had processed."""
    entry = container.services.bots._running[bot_id]
    assert entry.task is not None
    entry.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await entry.task
    container.database.dispose()
    return entry.bars_done


@pytest.fixture
def station_settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


async def test_every_transition_is_stored_before_it_is_published(
    settings_factory: Callable[..., Settings],
) -> None:
    station = build_container(settings_factory(demo_pace_seconds=0.005))
    try:
        s, admin = station.services, admin_on(station)
        seen: list[tuple[BotStatus, BotStatus | None]] = []

        def on_status(event: BotStatusChanged) -> None:
            stored = station.database.bots.get(event.bot_id)
            seen.append((event.status, None if stored is None else stored.status))

        s.events.subscribe(BotStatusChanged, on_status)
        # a drawdown of 0.01 % is crossed by the fee of the first trade: the bot pauses
        bot_id = create_bot(station, admin, risk_limits={"max_drawdown": "0.0001"})
        await s.bots.start(admin, bot_id)
        await until(lambda: s.bots.get(bot_id).status is BotStatus.PAUSED, "the pause")
        paused = s.bots.get(bot_id)
        assert paused.error is not None and paused.error.startswith("paused by a risk limit")
        with pytest.raises(ConflictError, match="is paused and cannot become starting"):
            s.bots.get(bot_id).with_status(BotStatus.STARTING)
        s.bots.resume(admin, bot_id)
        await s.bots.stop(admin, bot_id)
        statuses = [
            BotStatus.CREATED,
            BotStatus.STARTING,
            BotStatus.RUNNING,
            BotStatus.PAUSED,
            BotStatus.RUNNING,
            BotStatus.STOPPING,
            BotStatus.STOPPED,
        ]
        assert seen == [(status, status) for status in statuses]
        actions = [e.action for e in station.database.audit.list_recent() if e.subject == bot_id]
        assert {"bot.create", "bot.start", "bot.pause", "bot.resume", "bot.stop"} <= set(actions)
    finally:
        await station.aclose()


@pytest.mark.parametrize("how", ["crash", "graceful"])
async def test_a_bot_resumes_after_a_restart_and_trades_as_if_never_interrupted(
    station_settings: Settings, how: str
) -> None:
    first = build_container(station_settings)
    s, admin = first.services, admin_on(first)
    reference = create_bot(first, admin, name="reference", params=FAST)
    await s.bots.start(admin, reference)
    await wait_finished(first, reference)
    assert s.bots.get(reference).status is BotStatus.FINISHED
    expected = fills_of(first, reference)
    assert len(expected) > 20

    bot_id = create_bot(first, admin, name="interrupted", params=FAST)
    await s.bots.start(admin, bot_id)
    await until(quiet_after(first, bot_id, 1000), "1000 bars and a trade")
    traded_before = fills_of(first, bot_id)
    orders_before = len(s.orders.list(bot_id=bot_id, limit=5000))
    if how == "crash":
        reached = await crash(first, bot_id)
    else:
        reached = first.services.bots._running[bot_id].bars_done
        await first.aclose()  # the station closes: the bot keeps its status and position
    assert traded_before == expected[: len(traded_before)]

    second = build_container(station_settings)
    try:
        assert second.services.bots.get(bot_id).status is BotStatus.RUNNING
        stored = second.database.bots.progress(bot_id)
        bars = second.services.market.series("synthetic:5").candles
        last_fill_bar = max(i for i, c in enumerate(bars) if c.ts == traded_before[-1][4])
        if how == "graceful":
            assert stored == reached >= 1000
        else:  # stored at least when it last traded: later quiet bars are replayed harmlessly
            assert last_fill_bar <= stored <= reached
        await second.start()
        s2 = second.services
        entry = s2.bots._running[bot_id]
        assert entry.start == stored > 0  # not from bar 0
        assert s2.bots.get(bot_id).status is BotStatus.RUNNING
        await wait_finished(second, bot_id)
        assert s2.bots.get(bot_id).status is BotStatus.FINISHED
        assert fills_of(second, bot_id) == expected  # the same fills, none twice
        orders = s2.orders.list(bot_id=bot_id, limit=5000)
        assert len(orders) == len(s2.orders.list(bot_id=reference, limit=5000))
        assert len(orders) >= orders_before
        mine, ref = s2.portfolio.book(bot_id), s2.portfolio.book(reference)
        assert (mine.cash, mine.balances, mine.fees_paid) == (ref.cash, ref.balances, ref.fees_paid)
        assert mine.equity == ref.equity
        assert second.database.bots.progress(bot_id) == len(bars)
    finally:
        await second.aclose()


async def test_a_paused_bot_comes_back_paused_and_a_trader_resumes_it(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(demo_pace_seconds=0.005)
    first = build_container(settings)
    admin = admin_on(first)
    bot_id = create_bot(first, admin, risk_limits={"max_drawdown": "0.0001"})
    await first.services.bots.start(admin, bot_id)
    await until(lambda: first.services.bots.get(bot_id).status is BotStatus.PAUSED, "the pause")
    reason = first.services.bots.get(bot_id).error
    await first.aclose()

    second = await restart(settings)
    try:
        s = second.services
        bot = s.bots.get(bot_id)
        assert bot.status is BotStatus.PAUSED and bot.error == reason
        assert s.bots.is_running(bot_id)  # its marks and stops go on
        (view,) = s.bots.risk().bots
        assert view.running and view.paused_reason == reason
        resumed = s.bots.resume(admin_on(second), bot_id)
        assert resumed.status is BotStatus.RUNNING and resumed.error is None
        assert s.bots._running[bot_id].runtime.paused_reason is None
    finally:
        await second.aclose()


async def test_a_bot_that_cannot_resume_goes_to_error_and_the_others_resume(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(demo_pace_seconds=0.005)
    first = build_container(settings)
    admin = admin_on(first)
    broken, healthy, stopping = (create_bot(first, admin, name=n) for n in ("x", "y", "z"))
    for bot_id in (broken, healthy, stopping):
        await first.services.bots.start(admin, bot_id)
    await first.aclose()

    second = build_container(settings)
    gone = second.database.bots.get(broken)
    assert gone is not None
    second.database.bots.update(replace(gone, strategy="deleted_strategy"))
    half = second.database.bots.get(stopping)
    assert half is not None
    second.database.bots.update(half.with_status(BotStatus.STOPPING))  # died while stopping
    try:
        await second.start()
        s = second.services
        failed = s.bots.get(broken)
        assert failed.status is BotStatus.ERROR and not s.bots.is_running(broken)
        assert failed.error is not None
        assert failed.error.startswith("could not resume after the restart: ")
        assert "deleted_strategy" in failed.error and "then start it again" in failed.error
        assert s.bots.get(healthy).status is BotStatus.RUNNING and s.bots.is_running(healthy)
        assert s.bots.get(stopping).status is BotStatus.STOPPED
        assert not s.bots.is_running(stopping)
    finally:
        await second.aclose()


async def test_the_kill_switch_survives_a_restart_until_an_admin_releases_it(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(demo_pace_seconds=0.005)
    first = build_container(settings)
    admin = admin_on(first)
    stopped = create_bot(first, admin, name="stopped by the switch")
    await first.services.bots.start(admin, stopped)
    report = await first.services.bots.kill_switch(admin, "exchange outage")
    assert report.stopped_bots == (stopped,)
    engaged = report.state
    await first.aclose()

    second = await restart(settings)
    try:
        s = second.services
        assert s.bots.global_risk.kill_switch == engaged  # who, why and when
        assert s.bots.get(stopped).status is BotStatus.STOPPED
        with pytest.raises(ConflictError, match="kill switch engaged by admin at .*outage"):
            await s.bots.start(admin_on(second), stopped)
        released = s.bots.release_kill_switch(admin_on(second))
    finally:
        await second.aclose()

    third = await restart(settings)
    try:
        assert third.services.bots.global_risk.kill_switch == released
        assert not released.engaged and released.actor == "admin"
        await third.services.bots.start(admin_on(third), stopped)
        assert third.services.bots.get(stopped).status is BotStatus.RUNNING
    finally:
        await third.aclose()


async def test_bots_left_running_are_not_resumed_while_the_kill_switch_is_engaged(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(demo_pace_seconds=0.005)
    first = build_container(settings)
    admin = admin_on(first)
    bot_id = create_bot(first, admin)
    await first.services.bots.start(admin, bot_id)
    await first.aclose()  # it stays running, to resume next time

    second = build_container(settings)
    try:
        second.services.bots.global_risk.engage("admin", "audit", second.services.clock.now())
        await second.start()
        bot = second.services.bots.get(bot_id)
        assert bot.status is BotStatus.STOPPED and not second.services.bots.is_running(bot_id)
        assert bot.error is not None
        assert bot.error.startswith("not resumed after the restart: kill switch engaged by admin")
    finally:
        await second.aclose()


def test_building_a_container_resumes_nothing(station_settings: Settings) -> None:
    """Only ``Container.start`` resumes: ``task-station user create`` builds one too."""
    station = build_container(station_settings)
    try:
        bot_id = create_bot(station, admin_on(station), quote_budget=Decimal(100))
        current = station.database.bots.get(bot_id)
        assert current is not None
        station.database.bots.update(current.with_status(BotStatus.STARTING))
    finally:
        asyncio.run(station.aclose())
    again = build_container(station_settings)
    try:
        assert again.services.bots.get(bot_id).status is BotStatus.STARTING
    finally:
        asyncio.run(again.aclose())


async def test_loss_limits_keep_counting_across_a_crash(station_settings: Settings) -> None:
    """A restart must not hand a bot a fresh drawdown or daily-loss budget: the peak and
    the start of its day come back from the database."""
    first = build_container(station_settings)
    s, admin = first.services, admin_on(first)
    # generous limits: they measure without pausing the bot
    limits = {"max_drawdown": "0.9", "max_daily_loss": "9000"}
    bot_id = create_bot(first, admin, name="limited", params=FAST, risk_limits=limits)
    await s.bots.start(admin, bot_id)
    await until(quiet_after(first, bot_id, 600), "600 bars and a trade")
    risk = s.bots._running[bot_id].orders.risk
    assert risk is not None
    await asyncio.sleep(1.1)  # one more throttled save of the progress and the marks
    await until(quiet_after(first, bot_id, 800), "800 bars, quiet")
    before = risk.marks()
    assert before.peak is not None and before.peak > 0
    assert before.day is not None and before.day_start is not None
    await crash(first, bot_id)
    stored = first.database.bots.risk_marks(bot_id)
    assert set(stored) == {"peak", "day", "day_start"}

    second = build_container(station_settings)
    try:
        await second.start()
        entry = second.services.bots._running[bot_id]
        resumed = entry.orders.risk
        assert resumed is not None
        marks = resumed.marks()
        assert entry.runtime.bars_seen == 0  # still warming up: nothing new measured yet
        assert marks.to_mapping() == stored  # exactly what the crashed run had measured
        # what was stored last (at most one throttle period before the crash) came back:
        # the peak only ever rises from there, never restarts at the current equity
        assert marks.peak is not None and marks.peak >= Decimal(stored["peak"])
        assert second.services.bots._risk.day_of(bot_id) is not None
        await second.services.bots.stop(admin_on(second), bot_id)
    finally:
        await second.aclose()
