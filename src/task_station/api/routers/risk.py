"""Risk: the station's limits and the kill switch (permissions are the services' job).

Engaging the switch is open to traders and admins, releasing it to admins only: the
service decides, so the API, the GUI and the CLI refuse the same people.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.schemas import Money
from task_station.domain.risk import KillSwitchState, PositionStops, RiskLimits

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


class LimitsOut(BaseModel):
    """Money and quantities as exact strings; ``null`` is no limit."""

    max_position: Money | None
    max_order_notional: Money | None
    max_open_orders: int | None
    max_daily_loss: Money | None
    max_drawdown: Money | None
    max_orders_per_minute: int | None
    pause_on: list[str]

    @classmethod
    def of(cls, limits: RiskLimits) -> LimitsOut:
        return cls(
            max_position=limits.max_position,
            max_order_notional=limits.max_order_notional,
            max_open_orders=limits.max_open_orders,
            max_daily_loss=limits.max_daily_loss,
            max_drawdown=limits.max_drawdown,
            max_orders_per_minute=limits.max_orders_per_minute,
            pause_on=sorted(k.value for k in limits.pause_on),
        )


class StopsOut(BaseModel):
    stop_loss_pct: Money | None
    take_profit_pct: Money | None
    trailing_stop_pct: Money | None

    @classmethod
    def of(cls, stops: PositionStops) -> StopsOut:
        return cls(
            stop_loss_pct=stops.stop_loss_pct,
            take_profit_pct=stops.take_profit_pct,
            trailing_stop_pct=stops.trailing_stop_pct,
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
