"""Background jobs: list, follow and cancel them.

Each change of a job's state and its progress also reach ``/ws`` (topic ``job``:
``job`` and ``job_progress`` messages).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.job_schemas import JobDetail, JobOut
from task_station.api.pagination import Page, page_dependency, paginate

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=REQUIRE_LOGIN)


@router.get("")
async def list_jobs(
    services: ServicesDep,
    request: Request,
    response: Response,
    page: Annotated[Page, page_dependency(default=50, maximum=500)],
    state: Annotated[
        str | None,
        Query(description="queued, running, succeeded, failed, cancelled or active"),
    ] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
) -> list[JobOut]:
    """The newest jobs first (the newest 500 are reachable through ``offset``)."""
    found = services.jobs.list(limit=min(page.end, 500), state=state, kind=kind)
    return [JobOut.of(job) for job in paginate(found, page, request, response)]


@router.get("/{job_id}")
async def get_job(job_id: str, services: ServicesDep) -> JobDetail:
    return JobDetail.of(services.jobs.get(job_id))


@router.post("/{job_id}/cancel")
async def cancel_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> JobOut:
    """Cancel a queued job, or stop a running one (traders and admins); answers once
    it ended or after a few seconds (409 when it had already ended)."""
    return JobOut.of(await services.jobs.cancel(principal, job_id))
