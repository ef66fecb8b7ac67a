"""Risk: the station's limits and the kill switch (permissions are the services' job).

Engaging the switch is open to traders and admins, releasing it to admins only: the
service decides, so the API, the GUI and the CLI refuse the same people.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.schemas import LimitsOut, StopsOut
from task_station.domain.risk import KillSwitchState

router = APIRouter(prefix="/risk", tags=["risk"], dependencies=REQUIRE_LOGIN)


class KillSwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit log.")


class KillSwitchOut(BaseModel):
    engaged: bool
    actor: str | None
    reason: str | None
    since: datetime | None
    message: str

    @classmethod
    def of(cls, state: KillSwitchState) -> KillSwitchOut:
        return cls(
            engaged=state.engaged,
            actor=state.actor,
            reason=state.reason,
            since=state.since,
            message=state.describe(),
        )


class BotRiskOut(BaseModel):
    bot_id: str
    name: str
    running: bool
    paused_reason: str | None
    limits: LimitsOut
    stops: StopsOut


class RiskOut(BaseModel):
    kill_switch: KillSwitchOut
    limits: LimitsOut
    bots: list[BotRiskOut]


class KillSwitchReportOut(BaseModel):
    kill_switch: KillSwitchOut
    stopped_bots: list[str]
    canceled_orders: int


@router.get("")
async def get_risk(services: ServicesDep) -> RiskOut:
    view = services.bots.risk()
    return RiskOut(
        kill_switch=KillSwitchOut.of(view.kill_switch),
        limits=LimitsOut.of(view.limits),
        bots=[
            BotRiskOut(
                bot_id=b.bot_id,
                name=b.name,
                running=b.running,
                paused_reason=b.paused_reason,
                limits=LimitsOut.of(b.limits),
                stops=StopsOut.of(b.stops),
            )
            for b in view.bots
        ],
    )


@router.post("/kill-switch")
async def engage_kill_switch(
    body: KillSwitchIn, principal: PrincipalDep, services: ServicesDep
) -> KillSwitchReportOut:
    report = await services.bots.kill_switch(principal, body.reason)
    return KillSwitchReportOut(
        kill_switch=KillSwitchOut.of(report.state),
        stopped_bots=list(report.stopped_bots),
        canceled_orders=report.canceled_orders,
    )


@router.delete("/kill-switch")
async def release_kill_switch(principal: PrincipalDep, services: ServicesDep) -> KillSwitchOut:
    return KillSwitchOut.of(services.bots.release_kill_switch(principal))
