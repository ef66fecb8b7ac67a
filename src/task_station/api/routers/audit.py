"""The audit trail (admins): search it, and verify its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from task_station.api.auth_schemas import AuditEventOut, AuditVerifyOut
from task_station.api.deps import PrincipalDep, ServicesDep
from task_station.api.pagination import PageDep, page_of

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
async def search_audit(
    principal: PrincipalDep,
    services: ServicesDep,
    page: PageDep,
    request: Request,
    response: Response,
    user: Annotated[str | None, Query(max_length=128, description="Who acted.")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="An action or its prefix (`bot.`).")
    ] = None,
    face: Annotated[str | None, Query(description="gui, api, cli, automation or system.")] = None,
    since: Annotated[datetime | None, Query(description="From (inclusive, ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Before (ISO 8601).")] = None,
) -> list[AuditEventOut]:
    """Events matching every filter given, newest first."""
    query = services.audit.filters(user=user, action=action, face=face, since=since, until=until)
    found = services.audit.search(principal, query, limit=page.limit + 1, offset=page.offset)
    total = services.audit.count(principal, query)
    window = page_of(found, page, request, response, total=total)
    return [AuditEventOut.of(event) for event in window]


@router.get("/verify")
async def verify_audit(principal: PrincipalDep, services: ServicesDep) -> AuditVerifyOut:
    """Recompute every event's hash and link; names the first event that does not fit."""
    report = services.audit.verify(principal)
    broken = report.first_break
    return AuditVerifyOut(
        ok=report.ok,
        checked=report.checked,
        last_hash=report.last_hash,
        first_bad_event=None if broken is None else broken.event_id,
        reason=None if broken is None else broken.reason,
        summary=report.describe(),
    )
