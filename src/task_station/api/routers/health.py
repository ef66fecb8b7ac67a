"""Liveness without authentication, for launchers and monitors."""

from __future__ import annotations

from fastapi import APIRouter

from task_station import __version__
from task_station.api.deps import ServicesDep
from task_station.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(services: ServicesDep) -> HealthOut:
    return HealthOut(status="ok", version=__version__, time=services.clock.now())
