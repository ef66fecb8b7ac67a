"""Bots: list, create, inspect, start, stop and resume (permissions are the services' job)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.pagination import PageDep, paginate
from task_station.api.schemas import BotCreate, BotOut, BotParamsUpdate

router = APIRouter(prefix="/bots", tags=["bots"], dependencies=REQUIRE_LOGIN)


@router.get("")
async def list_bots(
    services: ServicesDep, page: PageDep, request: Request, response: Response
) -> list[BotOut]:
    bots = services.bots.list()
    return [BotOut.of(bot) for bot in paginate(bots, page, request, response, total=len(bots))]


@router.post("", status_code=201)
async def create_bot(body: BotCreate, principal: PrincipalDep, services: ServicesDep) -> BotOut:
    """Create a bot with its strategy, limits, stops and control mode; nothing is stored
    unless all of them are valid."""
    bot = services.bots.create(
        principal,
        name=body.name,
        strategy=body.strategy,
        params=body.params,
        quote_budget=body.quote_budget,
        symbol=body.symbol,
        data_source=body.data_source,
        fee_bps=body.fee_bps,
        risk_limits=None if body.risk_limits is None else body.risk_limits.to_mapping(),
        stops=None if body.stops is None else body.stops.to_mapping(),
        control_mode=body.control_mode,
    )
    return BotOut.of(bot)


@router.get("/{bot_id}")
async def get_bot(bot_id: str, services: ServicesDep) -> BotOut:
    return BotOut.of(services.bots.get(bot_id))


@router.put("/{bot_id}/params")
async def update_bot_params(
    bot_id: str, body: BotParamsUpdate, principal: PrincipalDep, services: ServicesDep
) -> BotOut:
    """Change a stopped bot's parameters (409 while it runs; 422 if they are invalid,
    and then nothing changes)."""
    bot = services.bots.update_params(
        principal,
        bot_id,
        body.params,
        stops=None if body.stops is None else body.stops.to_mapping(),
    )
    return BotOut.of(bot)


@router.post("/{bot_id}/start")
async def start_bot(bot_id: str, principal: PrincipalDep, services: ServicesDep) -> BotOut:
    return BotOut.of(await services.bots.start(principal, bot_id))


@router.post("/{bot_id}/stop")
async def stop_bot(bot_id: str, principal: PrincipalDep, services: ServicesDep) -> BotOut:
    return BotOut.of(await services.bots.stop(principal, bot_id))


@router.post("/{bot_id}/resume")
async def resume_bot(bot_id: str, principal: PrincipalDep, services: ServicesDep) -> BotOut:
    """Let a bot that a risk limit paused decide again (409 when it is not paused)."""
    return BotOut.of(services.bots.resume(principal, bot_id))
