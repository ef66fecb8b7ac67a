"""The catalogue of strategies by name."""

from __future__ import annotations

from collections.abc import Mapping

from task_station.domain.errors import ValidationError
from task_station.strategies.base import Strategy
from task_station.strategies.bollinger_breakout import BollingerBreakout
from task_station.strategies.bollinger_reversion import BollingerReversion
from task_station.strategies.dca import Dca
from task_station.strategies.donchian_breakout import DonchianBreakout
from task_station.strategies.ema_cross import EmaCross
from task_station.strategies.grid import Grid
from task_station.strategies.macd_trend import MacdTrend
from task_station.strategies.market_making import MarketMaking
from task_station.strategies.momentum_rotation import MomentumRotation
from task_station.strategies.pairs_trading import PairsTrading
from task_station.strategies.rsi_reversion import RsiReversion
from task_station.strategies.rules import RuleStrategy
from task_station.strategies.sma_cross import SmaCross
from task_station.strategies.supertrend import SuperTrendFollower
from task_station.strategies.twap import Twap
from task_station.strategies.vwap import Vwap

BUILTIN: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        SmaCross,
        EmaCross,
        RsiReversion,
        MacdTrend,
        BollingerBreakout,
        BollingerReversion,
        DonchianBreakout,
        SuperTrendFollower,
        Grid,
        Dca,
        MarketMaking,
        Twap,
        Vwap,
        MomentumRotation,
        PairsTrading,
        RuleStrategy,
    )
}


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
