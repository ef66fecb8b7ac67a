"""Bodies of the ``/backtest`` routes: submitted runs, their results and comparisons.

Money (cash, fee, final equity, parameters that are decimals) travels as exact strings,
as everywhere in the API; metrics keep the engine's rendering (ratios as numbers,
amounts as strings).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from task_station.api.schemas import Money, MoneyIn, format_money
from task_station.services.backtests import BacktestComparison, BacktestRun, RunStatus


def plain(value: object) -> Any:
    """``value`` with every ``Decimal`` as its exact string (JSON-ready)."""
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field must not be ignored


class BacktestSubmit(_Request):
    """A backtest of ``strategy`` on a candle file of the station's machine."""

    strategy: str = Field(min_length=1, max_length=80)
    params: dict[str, Any] = Field(default_factory=dict)
    data: str = Field(
        min_length=1, max_length=4096, description="Path of a CSV or Parquet candle file."
    )
    cash: MoneyIn = Field(description="Starting quote balance.")
    fee_bps: MoneyIn = Field(default=Decimal(0), description="Maker and taker fee, in bps.")
    symbol: str | None = Field(
        default=None, max_length=64, description="BASE/QUOTE (default: from the file name)."
    )


class BacktestSweepIn(_Request):
    """Every combination of ``grid`` (value lists per parameter, or a list of parameter
    sets) backtested on a candle file of the station's machine, on every core."""

    strategy: str = Field(min_length=1, max_length=80)
    grid: dict[str, list[Any]] | list[dict[str, Any]]
    data: str = Field(min_length=1, max_length=4096)
    cash: MoneyIn
    fee_bps: MoneyIn = Field(default=Decimal(0), description="Taker fee, in bps.")
    sort_by: str = Field(default="total_return", max_length=40)
    top: int = Field(default=100, ge=1, le=20_000, description="How many rows to return.")


class SweepRowOut(BaseModel):
    params: dict[str, Any]
    final_equity: float | None
    total_return: float | None
    trade_count: int | None
    max_drawdown: float | None
    sharpe: float | None
    engine: str
    error: str | None


class BacktestRunOut(BaseModel):
    """A run; ``progress`` is 0..1; ``report`` is the path of its HTML report route."""

    id: str
    status: str
    progress: float
    strategy: str
    params: dict[str, Any]
    symbol: str
    timeframe: str
    data_source: str
    bars: int
    cash: Money
    fee_bps: Money
    final_equity: Money | None
    trade_count: int | None
    metrics: dict[str, Any] | None
    error: str | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    report: str | None

    @classmethod
    def of(cls, run: BacktestRun) -> BacktestRunOut:
        return cls(**_fields(run))


class BacktestRunDetail(BacktestRunOut):
    """A run with its result: ``trades`` (the first 500; ``trades_total`` counts all),
    ``equity_curve`` ([close time, equity] at up to 400 bars), start, end, final cash
    and position."""

    result: dict[str, Any] | None

    @classmethod
    def of(cls, run: BacktestRun) -> BacktestRunDetail:
        result = None
        if run.result is not None:  # the report files' paths are the station's business
            result = {k: plain(v) for k, v in run.result.items() if not k.startswith("report_")}
        return cls(**_fields(run), result=result)


def _fields(run: BacktestRun) -> dict[str, Any]:
    has_report = run.status is RunStatus.FINISHED and run.report_path is not None
    return {
        "id": run.id,
        "status": run.status.value,
        "progress": run.progress,
        "strategy": run.strategy,
        "params": plain(run.params),
        "symbol": run.symbol,
        "timeframe": run.timeframe,
        "data_source": run.data_source,
        "bars": run.bars,
        "cash": run.cash,
        "fee_bps": run.fee_bps,
        "final_equity": run.final_equity,
        "trade_count": run.trade_count,
        "metrics": plain(run.metrics),
        "error": run.error,
        "created_by": run.created_by,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "report": f"/backtest/{run.id}/report" if has_report else None,
    }


class ComparisonRowOut(BaseModel):
    """One figure across the compared runs, one cell per run (in ``runs`` order)."""

    section: str  # run, param, result or metric
    name: str
    values: list[Any]


class BacktestComparisonOut(BaseModel):
    runs: list[BacktestRunOut]
    rows: list[ComparisonRowOut]

    @classmethod
    def of(cls, comparison: BacktestComparison) -> BacktestComparisonOut:
        return cls(
            runs=[BacktestRunOut.of(run) for run in comparison.runs],
            rows=[
                ComparisonRowOut(section=row.section, name=row.name, values=plain(row.values))
                for row in comparison.rows
            ],
        )
