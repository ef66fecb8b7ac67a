"""Prebuilt strategy settings ("presets"), read-only, for bot forms and scripts."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel

from task_station.api.deps import REQUIRE_LOGIN, ServicesDep
from task_station.api.schemas import format_money
from task_station.strategies.presets import Preset

router = APIRouter(prefix="/presets", tags=["presets"], dependencies=REQUIRE_LOGIN)


class PresetOut(BaseModel):
    name: str
    family: str
    symbol: str
    symbols: list[str]  # every symbol it trades, the primary first
    timeframe: str
    market_type: str
    risk_profile: str
    params: dict[str, object]
    description: str
    tags: list[str]


def _json_value(value: object) -> object:
    return format_money(value) if isinstance(value, Decimal) else value


def _out(preset: Preset) -> PresetOut:
    return PresetOut(
        name=preset.name,
        family=preset.family,
        symbol=preset.symbol,
        symbols=list(preset.all_symbols),
        timeframe=preset.timeframe,
        market_type=preset.market_type,
        risk_profile=preset.risk_profile,
        params={k: _json_value(v) for k, v in preset.params.items()},
        description=preset.description,
        tags=list(preset.tags),
    )


@router.get("")
async def list_presets(
    services: ServicesDep,
    family: str | None = None,
    timeframe: str | None = None,
    risk: str | None = None,
    tag: str | None = None,
    search: str | None = None,
) -> list[PresetOut]:
    found = services.presets.list(
        family=family, timeframe=timeframe, risk=risk, tag=tag, search=search
    )
    return [_out(p) for p in found]


@router.get("/{name}")
async def get_preset(services: ServicesDep, name: str) -> PresetOut:
    return _out(services.presets.get(name))
