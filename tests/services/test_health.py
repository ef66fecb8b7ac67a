"""Readiness asks each component; a missing one is 'not configured', a broken one 'down'."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from task_station.domain.candles import Candle
from task_station.domain.clock import SystemClock
from task_station.domain.events import BarClosed
from task_station.engine.bus import EventBus
from task_station.persistence import Database, sqlite_url
from task_station.persistence.backup import head_revision
from task_station.services import health as health_module
from task_station.services.health import (
    ComponentHealth,
    DatabaseProbe,
    HealthService,
    Status,
)
from task_station.services.metrics import StationMetrics


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def metrics(bus: EventBus) -> Iterator[StationMetrics]:
    collector = StationMetrics(bus, logger=logging.getLogger("task_station.test_health"))
    yield collector
    collector.close()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(sqlite_url(tmp_path / "station.db"))
    db.upgrade()
    yield db
    db.dispose()


def _service(probe: DatabaseProbe, metrics: StationMetrics, accounts: int = 0) -> HealthService:
    return HealthService(probe, metrics, venues=lambda: accounts, clock=SystemClock())


async def test_healthy_station_is_ready_and_missing_parts_are_not_configured(
    database: Database, metrics: StationMetrics
) -> None:
    service = _service(DatabaseProbe(database.current_revision, head_revision()), metrics, 2)
    readiness = await service.ready()
    assert readiness.ready and readiness.status == "ready"
    assert readiness.component("database").status is Status.OK
    assert readiness.component("database").detail == f"schema {head_revision()}"
    assert readiness.component("venues").value == 2.0
    assert readiness.component("feeds").status is Status.NOT_CONFIGURED
    assert readiness.component("scheduler").status is Status.NOT_CONFIGURED
    assert readiness.component("event_loop").status is Status.OK
    assert [c.name for c in readiness.components] == list(service.components)


async def test_unreachable_database_is_down(metrics: StationMetrics) -> None:
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    try:
        service = _service(DatabaseProbe(unreachable.current_revision, "0001"), metrics)
        readiness = await service.ready()
    finally:
        unreachable.dispose()
    database = readiness.component("database")
    assert database.status is Status.DOWN and database.detail.startswith("unreachable")
    assert not readiness.ready and readiness.status == "not ready"


async def test_database_behind_the_migrations_is_down(
    tmp_path: Path, metrics: StationMetrics
) -> None:
    old = Database(sqlite_url(tmp_path / "old.db"))
    old.upgrade("0004")
    try:
        readiness = await _service(
            DatabaseProbe(old.current_revision, head_revision()), metrics
        ).ready()
    finally:
        old.dispose()
    assert readiness.component("database").detail == (
        f"schema at 0004, this version needs {head_revision()}"
    )
    assert not readiness.ready


async def test_registered_checks_replace_defaults_and_failures_are_contained(
    database: Database, metrics: StationMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(DatabaseProbe(database.current_revision, head_revision()), metrics)

    async def scheduler() -> ComponentHealth:
        return ComponentHealth("scheduler", Status.OK, "3 schedules")

    async def broken() -> ComponentHealth:
        raise RuntimeError("bug")

    async def hangs() -> ComponentHealth:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    monkeypatch.setattr(health_module, "CHECK_TIMEOUT_SECONDS", 0.2)
    service.register("scheduler", scheduler)
    service.register("plugin", broken)
    service.register("slow", hangs)
    readiness = await service.ready()
    assert readiness.component("scheduler").detail == "3 schedules"
    assert readiness.component("plugin").detail == "check failed: RuntimeError"
    assert readiness.component("slow").status is Status.DOWN
    assert not readiness.ready


async def test_live_feed_lag_and_a_blocked_loop_degrade(
    database: Database, bus: EventBus, metrics: StationMetrics
) -> None:
    service = _service(DatabaseProbe(database.current_revision, head_revision()), metrics)
    late = datetime.now(UTC) - timedelta(seconds=90)
    candle = Candle(late, Decimal(1), Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    bus.publish(BarClosed(late, None, "binance", "BTC/USDT", "1m", candle))
    service.start()
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.8)  # a handler that blocks the loop
        await asyncio.sleep(0.6)  # the monitor's next sample sees how late it woke
        readiness = await service.ready()
    finally:
        await service.stop()
    feeds = readiness.component("feeds")
    assert feeds.status is Status.DEGRADED and feeds.value is not None and feeds.value >= 90
    loop = readiness.component("event_loop")
    assert loop.status is Status.DEGRADED and loop.value is not None and loop.value >= 0.25
    assert readiness.ready and readiness.status == "degraded"
    assert metrics.value("task_station_event_loop_lag_seconds") >= 0.25
    assert not service.loop_monitor.running
