"""Backtest runs on both backends: exact money, JSON documents, listing, restarts."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from task_station.domain.errors import ConflictError, NotFoundError
from task_station.persistence import Database
from task_station.persistence.backtests import BacktestRun, RunStatus, SqlBacktestRunStore

from .factories import BIG, PLUS_TWO, T0, at


@pytest.fixture
def store(database: Database) -> SqlBacktestRunStore:
    return SqlBacktestRunStore.on(database)


def queued(run_id: str = "run-1", created: float = 0) -> BacktestRun:
    return BacktestRun(
        id=run_id, created_at=at(created), status=RunStatus.QUEUED, strategy="sma_cross",
        params={"fast": 5, "slow": 20, "band": Decimal("0.1")}, symbol="BTC/USDT",
        timeframe="1h", data_source="file:/data/BTC_USDT-1h.parquet", bars=3000,
        cash=Decimal("10000"), fee_bps=Decimal("7.5"), created_by="alice",
    )  # fmt: skip


def finished(run: BacktestRun) -> BacktestRun:
    return replace(
        run,
        status=RunStatus.FINISHED,
        progress=1.0,
        started_at=at(1),
        finished_at=at(5),
        final_equity=BIG,
        trade_count=42,
        metrics={"total_return": "0.125", "sharpe": 1.5, "profit_factor": None},
        result={"trades": [{"side": "buy", "price": "100.5"}], "equity_curve": [["t", "1"]]},
        report_path="/reports/run-1/report.html",
    )


def test_run_round_trips_exactly_in_utc(store: SqlBacktestRunStore) -> None:
    run = queued()
    store.add(replace(run, created_at=run.created_at.astimezone(PLUS_TWO)))
    assert store.get("run-1") == run
    assert store.get("nope") is None


def test_finished_run_keeps_money_and_documents_exactly(store: SqlBacktestRunStore) -> None:
    store.add(queued())
    done = finished(queued())
    store.save(done)
    back = store.get("run-1")
    assert back == done
    assert back is not None and str(back.final_equity) == str(BIG)
    assert back.params["band"] == Decimal("0.1")


def test_duplicate_run_is_refused_and_missing_one_cannot_be_saved(
    store: SqlBacktestRunStore,
) -> None:
    store.add(queued())
    with pytest.raises(ConflictError, match="run-1 already exists"):
        store.add(queued())
    with pytest.raises(NotFoundError, match="run-2 does not exist"):
        store.save(queued("run-2"))


def test_progress_is_recorded_only_while_running(store: SqlBacktestRunStore) -> None:
    store.add(queued())
    store.set_progress("run-1", 0.5)  # still queued: ignored
    assert store.get("run-1") == queued()
    store.save(replace(queued(), status=RunStatus.RUNNING, started_at=at(1)))
    store.set_progress("run-1", 0.25)
    back = store.get("run-1")
    assert back is not None and back.progress == 0.25


def test_list_is_newest_first_without_result_documents(store: SqlBacktestRunStore) -> None:
    store.add(queued("old", created=0))
    store.add(queued("new", created=60))
    store.save(finished(queued("old", created=0)))
    listed = store.list()
    assert [r.id for r in listed] == ["new", "old"]
    assert listed[1].result is None and listed[1].final_equity == BIG
    assert [r.id for r in store.list(limit=1)] == ["new"]
    assert [r.id for r in store.list(statuses=[RunStatus.FINISHED])] == ["old"]


def test_unfinished_runs_left_by_a_stopped_station_are_failed(store: SqlBacktestRunStore) -> None:
    store.add(queued("waiting"))
    store.add(queued("running"))
    store.save(replace(queued("running"), status=RunStatus.RUNNING, started_at=T0))
    store.add(queued("done"))
    store.save(finished(queued("done")))
    failed = store.fail_unfinished("the station stopped", at(99))
    assert sorted(failed) == ["running", "waiting"]
    for run_id in failed:
        run = store.get(run_id)
        assert run is not None and run.status is RunStatus.FAILED
        assert run.error == "the station stopped" and run.finished_at == at(99)
    assert store.get("done") == finished(queued("done"))
    assert store.fail_unfinished("again", at(100)) == []
