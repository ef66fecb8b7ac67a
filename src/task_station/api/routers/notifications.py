"""Notifications: the in-app feed and the channels that carry them further.

New notifications also reach ``/ws`` (topic ``notification``). Channel secrets are
write-only: no route answers with one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.job_schemas import (
    ChannelIn,
    ChannelOut,
    JobOut,
    MarkReadIn,
    MarkReadOut,
    NotificationOut,
)
from task_station.api.pagination import Page, page_dependency, paginate

router = APIRouter(prefix="/notifications", tags=["notifications"], dependencies=REQUIRE_LOGIN)


@router.get("")
async def list_notifications(
    services: ServicesDep,
    request: Request,
    response: Response,
    page: Annotated[Page, page_dependency(default=50, maximum=500)],
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
) -> list[NotificationOut]:
    """The newest notifications first (the newest 500 are reachable through ``offset``)."""
    found = services.notifications.list(limit=min(page.end, 500), unread_only=unread)
    return [NotificationOut.of(n) for n in paginate(found, page, request, response)]


@router.post("/read")
async def mark_read(body: MarkReadIn, services: ServicesDep) -> MarkReadOut:
    """Mark the given notifications read (none given: all of them)."""
    return MarkReadOut(marked=services.notifications.mark_read(body.ids))


@router.get("/channels")
async def list_channels(services: ServicesDep) -> list[ChannelOut]:
    return [ChannelOut.of(view) for view in services.notifications.channels()]


@router.put("/channels/{name}")
async def put_channel(
    name: str, body: ChannelIn, principal: PrincipalDep, services: ServicesDep
) -> ChannelOut:
    """Create or replace a channel (admins); its secret goes to the station's vault."""
    secret = None
    if body.secret is not None:
        secret = {key: value.get_secret_value() for key, value in body.secret.items()}
    view = services.notifications.set_channel(
        principal,
        name,
        type=body.type,
        enabled=body.enabled,
        kinds=body.kinds,
        min_severity=body.min_severity,
        settings=body.settings,
        rate_per_minute=body.rate_per_minute,
        burst=body.burst,
        secret=secret,
    )
    return ChannelOut.of(view)


@router.delete("/channels/{name}", status_code=204)
async def delete_channel(name: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Remove a channel and its secret (admins)."""
    services.notifications.delete_channel(principal, name)
    return Response(status_code=204)


@router.post("/channels/{name}/test", status_code=202)
async def test_channel(name: str, principal: PrincipalDep, services: ServicesDep) -> JobOut:
    """Queue a test message to the channel; follow the job at ``GET /jobs/{id}``."""
    return JobOut.of(services.notifications.test_channel(principal, name))
