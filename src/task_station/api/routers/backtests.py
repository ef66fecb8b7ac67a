"""Backtest runs: submit (worker processes), follow, cancel, compare, fetch reports.

Progress and the end of each run also reach ``/ws`` (topic ``backtest``:
``backtest_progress`` and ``backtest_finished`` messages).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from task_station.api.backtest_schemas import (
    BacktestComparisonOut,
    BacktestRunDetail,
    BacktestRunOut,
    BacktestSubmit,
    BacktestSweepIn,
    SweepRowOut,
)
from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.pagination import Page, page_dependency, paginate
from task_station.services.backtests import MAX_LISTED

router = APIRouter(prefix="/backtest", tags=["backtests"], dependencies=REQUIRE_LOGIN)

_MEDIA_TYPES = {"html": "text/html", "json": "application/json", "csv": "text/csv"}


@router.post("", status_code=202)
async def submit_backtest(
    body: BacktestSubmit, principal: PrincipalDep, services: ServicesDep
) -> BacktestRunOut:
    """Queue a backtest (traders and admins); every input is checked first and nothing
    is stored when one is refused (422)."""
    run = await services.backtests.submit(
        principal,
        strategy=body.strategy,
        params=body.params,
        data=body.data,
        cash=body.cash,
        fee_bps=body.fee_bps,
        symbol=body.symbol,
    )
    return BacktestRunOut.of(run)


@router.post("/sweep")
async def sweep_backtests(
    body: BacktestSweepIn, principal: PrincipalDep, services: ServicesDep
) -> list[SweepRowOut]:
    """Backtest every combination of a parameter grid on every core and answer the best
    ``top`` rows first (traders and admins; 422 before anything runs on a bad input)."""
    principal.require_trader("run parameter sweeps")
    rows = await services.backtests.sweep(
        strategy=body.strategy,
        grid=body.grid,
        data=Path(body.data),
        cash=body.cash,
        fee_bps=body.fee_bps,
        sort_by=body.sort_by,
    )
    return [SweepRowOut(**dataclasses.asdict(row)) for row in rows[: body.top]]


@router.get("")
async def list_backtests(
    services: ServicesDep,
    request: Request,
    response: Response,
    page: Annotated[Page, page_dependency(default=50, maximum=500)],
) -> list[BacktestRunOut]:
    """The newest runs first."""
    runs = services.backtests.list(min(page.end, MAX_LISTED))
    return [BacktestRunOut.of(run) for run in paginate(runs, page, request, response)]


@router.get("/compare")
async def compare_backtests(
    services: ServicesDep,
    ids: Annotated[str, Query(min_length=1, description="Run ids, separated by commas.")],
) -> BacktestComparisonOut:
    """Runs side by side: inputs, parameters, final equity and metrics."""
    run_ids = [part.strip() for part in ids.split(",") if part.strip()]
    return BacktestComparisonOut.of(services.backtests.compare(run_ids))


@router.get("/{run_id}")
async def get_backtest(run_id: str, services: ServicesDep) -> BacktestRunDetail:
    return BacktestRunDetail.of(services.backtests.get(run_id))


@router.post("/{run_id}/cancel")
async def cancel_backtest(
    run_id: str, principal: PrincipalDep, services: ServicesDep
) -> BacktestRunOut:
    """Stop a queued or running run; answers once it ended (409 when it already had)."""
    return BacktestRunOut.of(await services.backtests.cancel(principal, run_id))


@router.get("/{run_id}/report", response_class=FileResponse)
async def backtest_report(
    run_id: str,
    services: ServicesDep,
    fmt: Annotated[str, Query(alias="format", description="html, json or csv (trades)")] = "html",
) -> FileResponse:
    """The report of a finished run: HTML, or its JSON data or trades CSV."""
    path = services.backtests.report_file(run_id, fmt)
    filename = None if fmt == "html" else f"backtest-{run_id}{path.name[len(path.stem) :]}"
    return FileResponse(path, media_type=_MEDIA_TYPES[fmt], filename=filename)
