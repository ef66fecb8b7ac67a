"""The paper matching engine shared by backtests, paper trading and the simulator."""

from task_station.venues.matching.engine import MatchingEngine
from task_station.venues.matching.model import MatchingConfig
from task_station.venues.matching.slippage import (
    FixedBps,
    NoSlippage,
    SlippageModel,
    SpreadBased,
    SquareRootImpact,
)

__all__ = [
    "FixedBps",
    "MatchingConfig",
    "MatchingEngine",
    "NoSlippage",
    "SlippageModel",
    "SpreadBased",
    "SquareRootImpact",
]
