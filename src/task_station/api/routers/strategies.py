"""The strategy catalogue and each strategy's parameter schema, for bot forms."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from task_station.api.deps import REQUIRE_LOGIN
from task_station.api.schemas import ParamOut, StrategyOut, format_money
from task_station.strategies.params import Param, ParamValue
from task_station.strategies.registry import strategy_class, strategy_names

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
    )


@router.get("")
async def list_strategies() -> list[StrategyOut]:
    return [
        StrategyOut(name=name, description=cls.description, params=[_param(p) for p in cls.params])
        for name in strategy_names()
        if (cls := strategy_class(name))
    ]
