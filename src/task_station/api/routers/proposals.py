"""Bot modes, proposals and the order ticket (permissions are the service's job:
viewers read, traders decide).

A refused approval because the price moved is a decision, not an error: the route
answers 200 with status ``refused_drift`` and the reason, as the record now says. An
expired or already decided proposal answers 409 and nothing is sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.proposal_schemas import (
    BotControlOut,
    ModeIn,
    OrderTicket,
    ProposalEdit,
    ProposalOut,
    ProposalReject,
    control_out,
    proposal_out,
    rules_in,
    view_out,
)
from task_station.api.schemas import OrderOut
from task_station.domain.proposals import ProposalStatus

router = APIRouter(prefix="/bots", tags=["proposals"], dependencies=REQUIRE_LOGIN)


@router.get("/{bot_id}/proposals")
async def list_proposals(
    bot_id: str,
    services: ServicesDep,
    status: ProposalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ProposalOut]:
    """Newest first; ``?status=pending`` for the ones waiting for a decision."""
    return [view_out(v) for v in services.proposals.list(bot_id, status=status, limit=limit)]


@router.get("/{bot_id}/proposals/{proposal_id}")
async def get_proposal(bot_id: str, proposal_id: str, services: ServicesDep) -> ProposalOut:
    return view_out(services.proposals.get(bot_id, proposal_id))


@router.post("/{bot_id}/proposals/{proposal_id}/approve")
async def approve_proposal(
    bot_id: str, proposal_id: str, principal: PrincipalDep, services: ServicesDep
) -> ProposalOut:
    return proposal_out(await services.proposals.approve(principal, bot_id, proposal_id))


@router.post("/{bot_id}/proposals/{proposal_id}/edit")
async def edit_proposal(
    bot_id: str,
    proposal_id: str,
    body: ProposalEdit,
    principal: PrincipalDep,
    services: ServicesDep,
) -> ProposalOut:
    decided = await services.proposals.edit(
        principal, bot_id, proposal_id, quantity=body.quantity, price=body.price
    )
    return proposal_out(decided)


@router.post("/{bot_id}/proposals/{proposal_id}/reject")
async def reject_proposal(
    bot_id: str,
    proposal_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    body: ProposalReject | None = None,
) -> ProposalOut:
    reason = body.reason if body is not None else None
    return proposal_out(services.proposals.reject(principal, bot_id, proposal_id, reason))


@router.get("/{bot_id}/mode")
async def get_mode(bot_id: str, services: ServicesDep) -> BotControlOut:
    return control_out(services.proposals.control(bot_id))


@router.put("/{bot_id}/mode")
async def set_mode(
    bot_id: str, body: ModeIn, principal: PrincipalDep, services: ServicesDep
) -> BotControlOut:
    rules = None if body.rules is None else rules_in(body.rules)
    return control_out(services.proposals.set_mode(principal, bot_id, body.mode, rules))


@router.post("/{bot_id}/orders", status_code=201)
async def place_order(
    bot_id: str, body: OrderTicket, principal: PrincipalDep, services: ServicesDep
) -> OrderOut:
    """The order ticket of a manual (or mixed) bot that is running. A pre-trade check
    that refuses the order still answers 201: the order exists, with status ``denied``
    and the reason."""
    order = await services.proposals.place_manual_order(
        principal, bot_id, body.side, body.quantity, body.type, body.price
    )
    return OrderOut.model_validate(order)
