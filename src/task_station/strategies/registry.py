"""The catalogue of strategies by name."""

from __future__ import annotations

from collections.abc import Mapping

from task_station.domain.errors import ValidationError
from task_station.strategies.base import Strategy
from task_station.strategies.sma_cross import SmaCross

BUILTIN: dict[str, type[Strategy]] = {cls.name: cls for cls in (SmaCross,)}


def strategy_names() -> list[str]:
    return sorted(BUILTIN)


def strategy_class(name: str) -> type[Strategy]:
    try:
        return BUILTIN[name]
    except KeyError:
        raise ValidationError(
            f"unknown strategy {name!r}; available: {', '.join(strategy_names())}"
        ) from None


def build_strategy(name: str, params: Mapping[str, object]) -> Strategy:
    """Instantiate ``name`` with validated ``params`` (raises ValidationError)."""
    return strategy_class(name)(params)
