"""Candles of a data source, for charts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from task_station.api.deps import REQUIRE_LOGIN, ServicesDep
from task_station.api.schemas import CandleOut

router = APIRouter(prefix="/market", tags=["market"], dependencies=REQUIRE_LOGIN)


@router.get("/candles")
async def candles(
    services: ServicesDep,
    source: Annotated[str, Query(description="'synthetic:SEED' or 'file:PATH'")] = "synthetic:7",
    limit: Annotated[int, Query(description="the newest LIMIT candles")] = 500,
) -> list[CandleOut]:
    return [CandleOut.model_validate(c) for c in services.market.candles(source, limit)]
