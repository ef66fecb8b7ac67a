"""The catalogue of arbitrage strategies by name.

Kept apart from ``strategies.registry.BUILTIN``: those run bar by bar in ``BotRuntime``;
these need the arbitrage runtime and market snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping

from task_station.domain.errors import ValidationError
from task_station.strategies.arbitrage.base import ArbitrageStrategy
from task_station.strategies.arbitrage.cex_dex import CexDexArbitrage
from task_station.strategies.arbitrage.cross_cex import CrossCexArbitrage
from task_station.strategies.arbitrage.triangular import TriangularArbitrage

ARBITRAGE: dict[str, type[ArbitrageStrategy]] = {
    cls.name: cls for cls in (CexDexArbitrage, CrossCexArbitrage, TriangularArbitrage)
}


def arbitrage_names() -> list[str]:
    return sorted(ARBITRAGE)


def arbitrage_class(name: str) -> type[ArbitrageStrategy]:
    try:
        return ARBITRAGE[name]
    except KeyError:
        raise ValidationError(
            f"unknown arbitrage strategy {name!r}; available: {', '.join(arbitrage_names())}"
        ) from None


def build_arbitrage(name: str, params: Mapping[str, object]) -> ArbitrageStrategy:
    """Instantiate ``name`` with validated ``params`` (raises ValidationError)."""
    return arbitrage_class(name)(params)
