"""A seeded synthetic market, so the station has demo data without any network.

Log returns follow a regime-switching drift (trends), GARCH(1,1) volatility
(clustering) and Poisson jumps. The same seed always gives the same bars; prices are
rounded to a tick so they look like an exchange's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.domain.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class SyntheticMarketSpec:
    seed: int = 7
    bars: int = 2000
    start_price: float = 30_000.0
    timeframe: str = "1h"
    start_ms: int = 1_672_531_200_000  # 2023-01-01 UTC
    tick: Decimal = Decimal("0.01")
    trend_strength: float = 0.0004  # per-bar drift in a trending regime
    regime_bars: int = 250  # mean length of a regime
    garch_omega: float = 2e-6
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    jump_rate: float = 0.004  # jumps per bar
    jump_scale: float = 0.04
    base_volume: float = 50.0


def generate_frame(spec: SyntheticMarketSpec) -> pd.DataFrame:
    """Generate OHLCV bars as a DataFrame with the candle-file columns."""
    import numpy as np
    import pandas as pd

    if spec.bars < 1:
        raise ValidationError("a synthetic market needs at least one bar")
    if spec.timeframe not in TIMEFRAME_SECONDS:
        raise ValidationError(f"unknown timeframe {spec.timeframe!r}")
    rng = np.random.default_rng(spec.seed)
    n = spec.bars
    regime_changes = rng.random(n) < 1.0 / spec.regime_bars
    regimes = rng.choice([-1.0, 0.0, 1.0], size=n)
    drift = np.empty(n)
    current = regimes[0]
    for i in range(n):
        if regime_changes[i]:
            current = regimes[i]
        drift[i] = current * spec.trend_strength

    var = spec.garch_omega / max(1e-9, 1 - spec.garch_alpha - spec.garch_beta)
    shocks = rng.standard_normal(n)
    returns = np.empty(n)
    for i in range(n):
        sigma = np.sqrt(var)
        returns[i] = drift[i] + sigma * shocks[i]
        var = (
            spec.garch_omega
            + spec.garch_alpha * (returns[i] - drift[i]) ** 2
            + spec.garch_beta * var
        )
    jumps = rng.random(n) < spec.jump_rate
    returns += jumps * rng.normal(0.0, spec.jump_scale, n)

    close = spec.start_price * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[spec.start_price], close[:-1]])
    wick = np.abs(rng.normal(0.0, 1.0, (2, n))) * np.abs(returns).mean() * np.maximum(open_, close)
    high = np.maximum(open_, close) + wick[0] * 0.6
    low = np.minimum(open_, close) - wick[1] * 0.6
    volume = spec.base_volume * (1 + 20 * np.abs(returns)) * rng.lognormal(0.0, 0.3, n)

    tick = float(spec.tick)
    digits = max(0, -spec.tick.as_tuple().exponent)  # type: ignore[operator]

    def snap(values: np.ndarray) -> np.ndarray:
        return np.round(np.round(values / tick) * tick, digits)

    o, h, lo, c = snap(open_), snap(high), snap(low), snap(close)
    h = np.maximum(h, np.maximum(o, c))
    lo = np.minimum(lo, np.minimum(o, c))
    step = TIMEFRAME_SECONDS[spec.timeframe] * 1000
    return pd.DataFrame(
        {
            "timestamp": spec.start_ms + step * np.arange(n, dtype=np.int64),
            "open": o,
            "high": h,
            "low": np.maximum(lo, tick),
            "close": c,
            "volume": np.round(volume, 6),
        }
    )
