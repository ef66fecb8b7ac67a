"""Tasks: list, create, edit, enable, disable, delete, run now and read their runs.

Everyone logged in reads; creating, editing, running and deleting need the trader role
(the service checks). Run status changes also reach ``/ws`` subscribers of the bus.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.task_schemas import RunOut, TaskCreate, TaskOut, TaskUpdate
from task_station.domain.errors import NotFoundError
from task_station.services.bundle import Services

router = APIRouter(prefix="/tasks", tags=["tasks"], dependencies=REQUIRE_LOGIN)


def _out(services: Services, task_id: str) -> TaskOut:
    task = services.tasks.get(task_id)
    return TaskOut.of(task, services.tasks.next_runs(task.id))


@router.get("")
async def list_tasks(services: ServicesDep) -> list[TaskOut]:
    return [TaskOut.of(task) for task in services.tasks.list()]


@router.post("", status_code=201)
async def create_task(body: TaskCreate, principal: PrincipalDep, services: ServicesDep) -> TaskOut:
    """Create a task; nothing is stored unless every trigger and action is valid (422
    names the one refused). A webhook trigger needs ``config.secret`` (16+ chars)."""
    task = services.tasks.create(
        principal,
        name=body.name,
        description=body.description,
        enabled=body.enabled,
        triggers=[t.to_spec() for t in body.triggers],
        actions=[a.to_spec() for a in body.actions],
        missed_runs=body.missed_runs,
        grace_seconds=body.grace_seconds,
    )
    return _out(services, task.id)


@router.get("/{task_id}")
async def get_task(task_id: str, services: ServicesDep) -> TaskOut:
    """One task (by id or name), with the next run time of each schedule."""
    return _out(services, task_id)


@router.patch("/{task_id}")
async def update_task(
    task_id: str, body: TaskUpdate, principal: PrincipalDep, services: ServicesDep
) -> TaskOut:
    """Change the fields given; triggers sent with their ``id`` keep it (and their URL)."""
    given = body.model_fields_set
    task = services.tasks.update(
        principal,
        task_id,
        name=body.name,
        description=body.description,
        triggers=None if body.triggers is None else [t.to_spec() for t in body.triggers],
        actions=None if body.actions is None else [a.to_spec() for a in body.actions],
        missed_runs=body.missed_runs,
        grace_seconds=body.grace_seconds if "grace_seconds" in given else -1,
    )
    return _out(services, task.id)


@router.delete("/{task_id}", status_code=204)
async def delete_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.tasks.delete(principal, task_id)
    return Response(status_code=204)


@router.post("/{task_id}/enable")
async def enable_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> TaskOut:
    task = services.tasks.set_enabled(principal, task_id, True)
    return _out(services, task.id)


@router.post("/{task_id}/disable")
async def disable_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> TaskOut:
    task = services.tasks.set_enabled(principal, task_id, False)
    return _out(services, task.id)


@router.post("/{task_id}/run", status_code=202)
async def run_task(
    task_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    response: Response,
    wait: bool = False,
) -> RunOut:
    """Run the task now (disabled ones too). 202 with the queued run, or with ``?wait=true``
    200 once it ended (its outcome and logs)."""
    run = await services.tasks.run_now(principal, task_id, wait=wait)
    if wait:
        response.status_code = 200
    return RunOut.of(run)


@router.get("/{task_id}/runs")
async def list_runs(
    task_id: str, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[RunOut]:
    """The task's runs, newest first, each with its outcome and logs."""
    return [RunOut.of(run) for run in services.tasks.runs(task_id, limit=limit)]


@router.get("/{task_id}/runs/{run_id}")
async def get_run(task_id: str, run_id: int, services: ServicesDep) -> RunOut:
    task = services.tasks.get(task_id)
    run = services.tasks.run(run_id)
    if run.task_id != task.id:
        raise NotFoundError(f"task {task.name!r} has no run {run_id}")
    return RunOut.of(run)
