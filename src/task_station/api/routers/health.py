"""Health without authentication, for launchers, load balancers and orchestrators.

``/health`` and ``/health/live`` answer while the process serves requests (liveness);
``/health/ready`` checks each component and answers 503 when one is down (readiness).
The answers name components and their state, never a URL, path or secret.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from task_station import __version__
from task_station.api.deps import ServicesDep
from task_station.api.schemas import HealthOut
from task_station.services.health import Readiness

router = APIRouter(tags=["health"])


class ComponentOut(BaseModel):
    status: str
    detail: str
    value: float | None


class ReadinessOut(BaseModel):
    status: str
    ready: bool
    version: str
    time: datetime
    components: dict[str, ComponentOut]

    @classmethod
    def of(cls, readiness: Readiness) -> ReadinessOut:
        return cls(
            status=readiness.status,
            ready=readiness.ready,
            version=__version__,
            time=readiness.checked_at,
            components={
                c.name: ComponentOut(status=c.status.value, detail=c.detail, value=c.value)
                for c in readiness.components
            },
        )


@router.get("/health")
async def health(services: ServicesDep) -> HealthOut:
    """Liveness (kept at its first address for existing monitors)."""
    return HealthOut(status="ok", version=__version__, time=services.clock.now())


@router.get("/health/live")
async def live(services: ServicesDep) -> HealthOut:
    """Liveness: the process answers."""
    return HealthOut(status="ok", version=__version__, time=services.clock.now())


@router.get(
    "/health/ready",
    responses={503: {"model": ReadinessOut, "description": "a component is down"}},
)
async def ready(services: ServicesDep) -> JSONResponse:
    """Readiness: every component's state; 503 when one is down."""
    readiness = await services.health.ready()
    body = ReadinessOut.of(readiness).model_dump(mode="json")
    return JSONResponse(body, status_code=200 if readiness.ready else 503)
