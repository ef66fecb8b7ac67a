"""The strategy catalogue and each strategy's parameter schema, for bot forms.

The list includes the trader's own strategy files (``origin: user``);
``POST /strategies/reload`` re-reads them after an edit, for a headless station where
no GUI polls the folder.
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.schemas import ParamOut, StrategyOut, StrategyReloadOut, format_money
from task_station.strategies.catalog import StrategyInfo
from task_station.strategies.params import Param, ParamValue

router = APIRouter(prefix="/strategies", tags=["strategies"], dependencies=REQUIRE_LOGIN)

_KIND_NAMES = {int: "int", Decimal: "decimal", bool: "bool", str: "str"}


def _value(value: ParamValue | None) -> int | bool | str | None:
    return format_money(value) if isinstance(value, Decimal) else value


def _param(param: Param) -> ParamOut:
    return ParamOut(
        name=param.name,
        kind=_KIND_NAMES.get(param.kind, param.kind.__name__),
        default=format_money(param.default)
        if isinstance(param.default, Decimal)
        else param.default,
        description=param.description,
        minimum=_value(param.minimum),
        maximum=_value(param.maximum),
        step=_value(param.step),
    )


def _strategy(info: StrategyInfo) -> StrategyOut:
    return StrategyOut(
        name=info.name,
        description=info.description,
        params=[_param(p) for p in info.params],
        origin=info.origin,
        file=None if info.path is None else info.path.name,
    )


@router.get("")
async def list_strategies(services: ServicesDep) -> list[StrategyOut]:
    return [_strategy(info) for info in services.strategies.list()]


@router.post("/reload")
async def reload_strategies(principal: PrincipalDep, services: ServicesDep) -> StrategyReloadOut:
    """Re-read the strategy files (traders and admins); errors name file and line."""
    result = services.strategies.reload(principal)
    return StrategyReloadOut(
        added=list(result.added),
        updated=list(result.updated),
        removed=list(result.removed),
        errors=list(result.errors),
        changed=result.changed,
    )
