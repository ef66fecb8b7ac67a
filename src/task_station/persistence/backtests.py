"""Backtest runs on SQL: what was asked, how far it got, and what came out.

A run's record is a plain dataclass (``BacktestRun``), never an ORM row. Listing leaves
out the result document (trades and equity curve); ``get`` reads it.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import defer, sessionmaker

from task_station.domain.errors import NotFoundError
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.database import Database
from task_station.persistence.models import BacktestRunRow


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class BacktestRun:
    """One backtest run. ``params`` are the strategy's resolved parameters (defaults
    included); ``progress`` is 0..1; ``result`` (None in listings) holds the trades and
    a downsampled equity curve."""

    id: str
    created_at: datetime
    status: RunStatus
    strategy: str
    params: dict[str, Any]
    symbol: str
    timeframe: str
    data_source: str
    bars: int
    cash: Decimal
    fee_bps: Decimal
    progress: float = 0.0
    created_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    final_equity: Decimal | None = None
    trade_count: int | None = None
    metrics: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    report_path: str | None = None


def _write(row: BacktestRunRow, run: BacktestRun) -> None:
    row.created_at = run.created_at
    row.started_at = run.started_at
    row.finished_at = run.finished_at
    row.created_by = run.created_by
    row.status = run.status.value
    row.progress = run.progress
    row.strategy = run.strategy
    row.params = dict(run.params)
    row.symbol = run.symbol
    row.timeframe = run.timeframe
    row.data_source = run.data_source
    row.bars = run.bars
    row.cash = run.cash
    row.fee_bps = run.fee_bps
    row.final_equity = run.final_equity
    row.trade_count = run.trade_count
    row.metrics = run.metrics
    row.result = run.result
    row.error = run.error
    row.report_path = run.report_path


def _to_run(row: BacktestRunRow, *, with_result: bool = True) -> BacktestRun:
    return BacktestRun(
        id=row.id,
        created_at=row.created_at,
        status=RunStatus(row.status),
        strategy=row.strategy,
        params=dict(row.params),
        symbol=row.symbol,
        timeframe=row.timeframe,
        data_source=row.data_source,
        bars=row.bars,
        cash=row.cash,
        fee_bps=row.fee_bps,
        progress=row.progress,
        created_by=row.created_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        final_equity=row.final_equity,
        trade_count=row.trade_count,
        metrics=row.metrics,
        result=row.result if with_result else None,
        error=row.error,
        report_path=row.report_path,
    )


class SqlBacktestRunStore:
    """Backtest runs; each method is its own transaction."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @classmethod
    def on(cls, database: Database) -> SqlBacktestRunStore:
        """A store over ``database``'s engine (its connection pool is shared)."""
        return cls(sessionmaker(database.engine, expire_on_commit=False))

    def add(self, run: BacktestRun) -> None:
        record = f"backtest run {run.id}"
        with translated(record, conflict=f"{record} already exists"), self._sessions.begin() as s:
            row = BacktestRunRow(id=run.id)
            _write(row, run)
            s.add(row)

    def save(self, run: BacktestRun) -> None:
        """Store every field of ``run`` (which must exist)."""
        with translated(f"backtest run {run.id}"), self._sessions.begin() as s:
            row = s.get(BacktestRunRow, run.id)
            if row is None:
                raise NotFoundError(f"backtest run {run.id} does not exist")
            _write(row, run)

    def set_progress(self, run_id: str, progress: float) -> None:
        """Record how far a running run got (ignored once it ended)."""
        query = (
            update(BacktestRunRow)
            .where(BacktestRunRow.id == run_id, BacktestRunRow.status == RunStatus.RUNNING.value)
            .values(progress=progress)
        )
        with self._sessions.begin() as s:
            s.execute(query)

    def get(self, run_id: str) -> BacktestRun | None:
        with self._sessions.begin() as s:
            row = s.get(BacktestRunRow, run_id)
            return None if row is None else _to_run(row)

    def list(
        self, *, limit: int = 50, statuses: Sequence[RunStatus] | None = None
    ) -> builtins.list[BacktestRun]:
        """Newest first, without their result documents."""
        query = select(BacktestRunRow).options(defer(BacktestRunRow.result))
        if statuses is not None:
            query = query.where(BacktestRunRow.status.in_([s.value for s in statuses]))
        query = query.order_by(BacktestRunRow.created_at.desc(), BacktestRunRow.id.desc())
        with self._sessions.begin() as s:
            return [_to_run(r, with_result=False) for r in s.scalars(query.limit(limit))]

    def fail_unfinished(self, error: str, when: datetime) -> builtins.list[str]:
        """Mark every queued or running run failed with ``error``; return their ids.

        For a station that starts: no worker of a previous process is still running.
        """
        unfinished = [RunStatus.QUEUED.value, RunStatus.RUNNING.value]
        with self._sessions.begin() as s:
            ids = list(
                s.scalars(select(BacktestRunRow.id).where(BacktestRunRow.status.in_(unfinished)))
            )
            if ids:
                s.execute(
                    update(BacktestRunRow)
                    .where(BacktestRunRow.id.in_(ids))
                    .values(status=RunStatus.FAILED.value, error=error, finished_at=when)
                )
            return ids
