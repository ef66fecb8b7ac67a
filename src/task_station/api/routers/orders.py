"""Orders and fills, read-only: orders change only through the engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from task_station.api.deps import REQUIRE_LOGIN, ServicesDep
from task_station.api.schemas import FillOut, OrderOut

router = APIRouter(tags=["orders"], dependencies=REQUIRE_LOGIN)


@router.get("/orders")
async def list_orders(
    services: ServicesDep,
    bot_id: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(description="1 to 5000, newest first")] = 200,
) -> list[OrderOut]:
    orders = services.orders.list(bot_id=bot_id, status=status, limit=limit)
    return [OrderOut.model_validate(order) for order in orders]


@router.get("/fills")
async def list_fills(
    services: ServicesDep,
    bot_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 5000,
) -> list[FillOut]:
    return [
        FillOut.model_validate(fill) for fill in services.orders.fills(bot_id=bot_id, limit=limit)
    ]
