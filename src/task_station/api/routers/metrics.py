"""Prometheus metrics (``GET /metrics``) and the station log (``GET /logs``, admins).

``/metrics`` needs no login, like ``/health``: Prometheus scrapes it without a token, it
holds counts and timings only, and the API listens on loopback unless told otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from task_station.api.deps import PrincipalDep, ServicesDep
from task_station.services.health import probe_loop_lag
from task_station.services.logs import MAX_ENTRIES

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """Counters, gauges and histograms in Prometheus' text format."""
    if not services.health.loop_monitor.running:  # nobody samples it: measure it now
        services.metrics.observe_loop_lag(await probe_loop_lag())
    return Response(services.metrics.render(), media_type=services.metrics.content_type)


class LogEntryOut(BaseModel):
    time: datetime | None
    level: str
    logger: str
    message: str
    exception: str | None


@router.get("/logs")
async def logs(
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=MAX_ENTRIES)] = 200,
    level: str | None = None,
    search: str | None = None,
) -> list[LogEntryOut]:
    """The newest log entries (oldest first), at ``level`` or above, containing ``search``."""
    found = services.logs.tail(principal, limit=limit, level=level, search=search)
    return [
        LogEntryOut(
            time=e.time, level=e.level, logger=e.logger, message=e.message, exception=e.exception
        )
        for e in found
    ]
