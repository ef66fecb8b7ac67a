"""Backtest runs through the real container: worker processes, the database, the bus."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from task_station.backtest.runner import run_backtest_sync
from task_station.container import Container, build_container
from task_station.domain.errors import DataError, PermissionDeniedError, ValidationError
from task_station.domain.events import BacktestFinished, BacktestProgress, Event
from task_station.domain.users import Role
from task_station.jobs.workers import WorkerPool
from task_station.persistence.backtests import SqlBacktestRunStore
from task_station.services.backtests import (
    STATION_STOPPED,
    BacktestRun,
    BacktestService,
    RunStatus,
    check_money,
    load_config,
)
from task_station.services.principal import Principal
from tests.jobs.backtest_files import add_user_strategies, candle_file
from tests.persistence.conftest import pg_admin  # noqa: F401  (fixture used by any_container)

TIMEOUT = 60.0


class Heard:
    """The backtest events of one station, in the order published."""

    def __init__(self, container: Container) -> None:
        self.events: list[Event] = []
        bus = container.services.events
        bus.subscribe(BacktestProgress, self.events.append)
        bus.subscribe(BacktestFinished, self.events.append)

    def progress(self, run_id: str) -> list[tuple[int, int]]:
        return [
            (e.done, e.total)
            for e in self.events
            if isinstance(e, BacktestProgress) and e.run_id == run_id
        ]

    async def finished(self, run_id: str, timeout: float = TIMEOUT) -> BacktestFinished:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if isinstance(e, BacktestFinished) and e.run_id == run_id:
                    return e
            assert time.monotonic() < deadline, f"run {run_id} did not finish"
            await asyncio.sleep(0.02)

    async def working(self, run_id: str) -> None:
        """Until the run reported bars done (its strategy is being called)."""
        deadline = time.monotonic() + TIMEOUT
        while not any(done > 0 for done, _ in self.progress(run_id)):
            assert time.monotonic() < deadline, f"run {run_id} reported no progress"
            await asyncio.sleep(0.02)


def user_strategies(container: Container, admin: Principal) -> None:
    add_user_strategies(container.settings.data_dir / "strategies")
    container.services.strategies.reload(admin)


async def test_submitted_run_is_run_by_a_worker_and_stored_exactly_as_an_in_process_run(
    any_container: Container, tmp_path: Path
) -> None:
    container = any_container
    admin = container.services.users.create("admin", "admin-password", "admin", actor=None)
    actor = Principal(admin.id, admin.username, admin.role)
    heard = Heard(container)
    data = candle_file(tmp_path, bars=600)
    backtests = container.services.backtests
    run = await backtests.submit(
        actor, strategy="sma_cross", params={"fast": 5, "slow": 20}, data=data,
        cash="10000", fee_bps="10",
    )  # fmt: skip
    assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    assert (run.strategy, run.symbol, run.timeframe, run.bars) == (
        "sma_cross",
        "BTC/USDT",
        "1h",
        600,
    )
    assert run.params["fast"] == 5 and run.created_by == "admin"
    end = await heard.finished(run.id)

    stored = backtests.get(run.id)
    config = load_config(
        strategy="sma_cross", params={"fast": 5, "slow": 20}, data=data,
        cash=Decimal(10000), fee_bps=Decimal(10),
    )  # fmt: skip
    expected = await asyncio.to_thread(run_backtest_sync, config)
    assert stored.status is RunStatus.FINISHED and stored.progress == 1.0
    assert stored.final_equity == expected.final_equity == end.final_equity
    assert stored.trade_count == expected.trade_count > 0
    assert end.status == "finished" and end.error is None
    assert stored.metrics is not None and "sharpe" in stored.metrics
    assert stored.result is not None and len(stored.result["trades"]) == expected.trade_count
    assert 2 <= len(stored.result["equity_curve"]) <= 400
    assert stored.started_at is not None and stored.finished_at is not None
    progress = heard.progress(run.id)
    assert progress[0] == (0, 600) and progress[-1] == (600, 600)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert [r.id for r in backtests.list()] == [run.id]


async def test_runs_beyond_the_worker_limit_wait_queued_and_run_in_turn(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    heard = Heard(container)
    backtests = BacktestService(
        runs=SqlBacktestRunStore.on(container.database), workers=WorkerPool(1),
        bus=container.services.events, clock=container.services.clock,
    )  # fmt: skip
    data = candle_file(tmp_path, bars=300)
    try:
        first, second = [
            await backtests.submit(admin, strategy="sma_cross", params={}, data=data, cash=1000)
            for _ in range(2)
        ]
        assert first.status is RunStatus.RUNNING and second.status is RunStatus.QUEUED
        await heard.finished(second.id)
    finally:
        await backtests.shutdown()
    one, two = backtests.get(first.id), backtests.get(second.id)
    assert one.status is two.status is RunStatus.FINISHED
    assert one.finished_at is not None and two.started_at is not None
    assert two.started_at >= one.finished_at
    assert one.final_equity == two.final_equity


async def test_cancel_ends_a_running_run_cancelled_quickly_and_its_worker_is_gone(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    user_strategies(container, admin)
    heard = Heard(container)
    pid_file = tmp_path / "worker.pid"
    data = candle_file(tmp_path, bars=50_000)  # ~25 s of a slow strategy
    backtests = container.services.backtests
    run = await backtests.submit(
        admin, strategy="slow", params={"pid_file": str(pid_file)}, data=data, cash=1000
    )
    await heard.working(run.id)
    pid = int(pid_file.read_text())
    started = time.monotonic()
    cancelled = await backtests.cancel(admin, run.id)
    assert cancelled.status is RunStatus.CANCELLED
    assert time.monotonic() - started < 5
    assert 0 < cancelled.progress < 1 and cancelled.finished_at is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    end = await heard.finished(run.id, timeout=1)
    assert (end.status, end.final_equity, end.error) == ("cancelled", None, None)
    with pytest.raises(Exception, match="already ended: it is cancelled"):
        await backtests.cancel(admin, run.id)


@pytest.mark.parametrize(
    ("kill", "message"),
    [
        (False, "the strategy failed in on_bar 1 times in a row: RuntimeError: my indicator"),
        (True, "the worker process was killed by SIGKILL before it finished"),
    ],
)
async def test_crashing_run_fails_with_the_reason_and_the_next_run_still_works(
    container: Container, admin: Principal, tmp_path: Path, kill: bool, message: str
) -> None:
    user_strategies(container, admin)
    heard = Heard(container)
    data = candle_file(tmp_path, bars=300)
    backtests = container.services.backtests
    bad = await backtests.submit(
        admin, strategy="faulty", params={"kill": kill}, data=data, cash=1000
    )
    end = await heard.finished(bad.id)
    failed = backtests.get(bad.id)
    assert failed.status is RunStatus.FAILED and end.status == "failed"
    assert failed.error is not None and message in failed.error and end.error == failed.error
    assert failed.final_equity is None
    good = await backtests.submit(admin, strategy="sma_cross", params={}, data=data, cash=1000)
    await heard.finished(good.id)
    assert backtests.get(good.id).status is RunStatus.FINISHED


BAD_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"strategy": "nope"}, "unknown strategy 'nope'"),
    ({"params": {"fast": "x"}}, "fast"),
    ({"params": {"typo": 3}}, "typo"),
    ({"cash": "-5"}, "starting cash must be positive, got -5"),
    ({"cash": "lots"}, "cash 'lots' is not a number"),
    ({"fee_bps": "20000"}, "fee_bps must be between 0 and 10000, got 20000"),
    ({"data": "missing.parquet"}, "does not exist"),
]


async def test_bad_input_is_refused_as_run_refuses_it_and_nothing_is_stored(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    good = {"strategy": "sma_cross", "params": {}, "data": candle_file(tmp_path, 50), "cash": 1000}
    backtests = container.services.backtests
    for change, message in BAD_INPUTS:
        inputs = {**good, **change}
        if isinstance(inputs["data"], str):
            inputs["data"] = tmp_path / inputs["data"]
        with pytest.raises(ValidationError, match=message) as refused:
            await backtests.submit(admin, **inputs)
        with pytest.raises((ValidationError, DataError)) as by_run:
            await backtests.run(**inputs)
        assert str(refused.value) == str(by_run.value)
    assert backtests.list() == []


async def test_corrupt_file_bad_symbol_and_viewer_are_refused_before_storing(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    backtests = container.services.backtests
    corrupt = tmp_path / "BTC_USDT-1h.parquet"
    corrupt.write_bytes(b"not parquet at all")
    with pytest.raises(ValidationError, match="BTC_USDT-1h.parquet: cannot be read as parquet"):
        await backtests.submit(admin, strategy="sma_cross", params={}, data=corrupt, cash=1)
    data = candle_file(tmp_path, 50)
    with pytest.raises(ValidationError, match="must look like BASE/QUOTE"):
        await backtests.submit(
            admin, strategy="sma_cross", params={}, data=data, cash=1, symbol="BTCUSDT"
        )
    viewer = Principal("v", "vera", Role.VIEWER)
    with pytest.raises(PermissionDeniedError, match="may not run backtests"):
        await backtests.submit(viewer, strategy="sma_cross", params={}, data=data, cash=1)
    assert backtests.list() == []


async def test_compare_lists_both_runs_params_and_metrics_side_by_side(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    heard = Heard(container)
    data = candle_file(tmp_path, bars=400)
    backtests = container.services.backtests
    runs = [
        await backtests.submit(
            admin, strategy="sma_cross", params={"fast": fast, "slow": 30}, data=data, cash=1000
        )
        for fast in (5, 12)
    ]
    for run in runs:
        await heard.finished(run.id)
    first, second = (backtests.get(r.id) for r in runs)
    table = backtests.compare([first.id, second.id, first.id])
    assert [r.id for r in table.runs] == [first.id, second.id]
    rows = {(row.section, row.name): row.values for row in table.rows}
    assert rows[("param", "fast")] == (5, 12) and rows[("param", "slow")] == (30, 30)
    assert rows[("result", "final_equity")] == (first.final_equity, second.final_equity)
    assert rows[("result", "trade_count")] == (first.trade_count, second.trade_count)
    assert first.metrics is not None and second.metrics is not None
    assert rows[("metric", "sharpe")] == (first.metrics["sharpe"], second.metrics["sharpe"])
    assert rows[("run", "status")] == ("finished", "finished")
    with pytest.raises(Exception, match="does not exist"):
        backtests.compare([first.id, "nope"])

    copy = tmp_path / "copy"
    with pytest.raises(ValidationError, match="does not exist; create it"):
        backtests.write_report(first.id, copy / "first.html")
    copy.mkdir()
    written = backtests.write_report(first.id, copy / "first.html")
    assert [p.name for p in written] == ["first.html", "first.json", "first.trades.csv"]
    assert "<html" in written[0].read_text(encoding="utf-8").lower()
    assert backtests.report_file(first.id, "csv").read_bytes() == written[2].read_bytes()


async def test_runs_left_unfinished_by_a_stopped_station_fail_on_the_next_start(
    settings_factory: Callable[..., Any],
) -> None:
    before = build_container(settings_factory())
    store = SqlBacktestRunStore.on(before.database)
    template = BacktestRun(
        id="x", created_at=before.services.clock.now(), status=RunStatus.QUEUED,
        strategy="sma_cross", params={}, symbol="BTC/USDT", timeframe="1h",
        data_source="file:/x.parquet", bars=10, cash=Decimal(1), fee_bps=Decimal(0),
    )  # fmt: skip
    store.add(replace(template, id="queued"))
    store.add(replace(template, id="running", status=RunStatus.RUNNING))
    store.add(replace(template, id="done", status=RunStatus.FINISHED, final_equity=Decimal(2)))
    before.database.dispose()  # the process died: no shutdown ran

    after = build_container(settings_factory())
    try:
        await after.start()
        backtests = after.services.backtests
        for run_id in ("queued", "running"):
            run = backtests.get(run_id)
            assert run.status is RunStatus.FAILED and run.error == STATION_STOPPED
        assert backtests.get("done").status is RunStatus.FINISHED
    finally:
        await after.aclose()


async def test_stopping_the_station_fails_its_running_runs(
    container: Container, admin: Principal, tmp_path: Path
) -> None:
    user_strategies(container, admin)
    heard = Heard(container)
    data = candle_file(tmp_path, bars=50_000)
    backtests = container.services.backtests
    run = await backtests.submit(admin, strategy="slow", params={}, data=data, cash=1000)
    await heard.working(run.id)
    await backtests.shutdown()
    stopped = backtests.get(run.id)
    assert stopped.status is RunStatus.FAILED and stopped.error == STATION_STOPPED


def test_money_checks_name_the_field() -> None:
    assert check_money("100.5", 0) == (Decimal("100.5"), Decimal(0))
    with pytest.raises(ValidationError, match="fee_bps must be between"):
        check_money(1, -1)
