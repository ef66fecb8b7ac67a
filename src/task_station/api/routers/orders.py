"""Orders and fills, read-only: orders change only through the engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from task_station.api.deps import REQUIRE_LOGIN, ServicesDep
from task_station.api.pagination import Page, page_dependency, paginate
from task_station.api.schemas import FillOut, OrderOut

MAX_ORDERS = 5000
_ORDER_PAGE = page_dependency(default=200, maximum=MAX_ORDERS)
_FILL_PAGE = page_dependency(default=MAX_ORDERS, maximum=MAX_ORDERS)

router = APIRouter(tags=["orders"], dependencies=REQUIRE_LOGIN)


@router.get("/orders")
async def list_orders(
    services: ServicesDep,
    request: Request,
    response: Response,
    page: Annotated[Page, _ORDER_PAGE],
    bot_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> list[OrderOut]:
    """Orders, newest first (the newest 5000 are reachable through ``offset``)."""
    fetch = min(page.end, MAX_ORDERS)
    orders = services.orders.list(bot_id=bot_id, status=status, limit=fetch)
    return [OrderOut.model_validate(o) for o in paginate(orders, page, request, response)]


@router.get("/fills")
async def list_fills(
    services: ServicesDep,
    request: Request,
    response: Response,
    page: Annotated[Page, _FILL_PAGE],
    bot_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[FillOut]:
    """Fills, oldest first (the first 5000)."""
    fills = services.orders.fills(bot_id=bot_id, limit=min(page.end, MAX_ORDERS))
    return [FillOut.model_validate(f) for f in paginate(fills, page, request, response)]
