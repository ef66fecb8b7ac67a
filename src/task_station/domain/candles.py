"""OHLCV candles as exact decimals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from task_station.domain.errors import DataError


@dataclass(frozen=True, slots=True)
class Candle:
    """One bar. ``ts`` is the bar's open time (UTC)."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def __post_init__(self) -> None:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise DataError(
                f"candle at {self.ts.isoformat()} is inconsistent: "
                f"open={self.open} high={self.high} low={self.low} close={self.close}"
            )
        if self.volume < 0:
            raise DataError(f"candle at {self.ts.isoformat()} has negative volume {self.volume}")


TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "1w": 604800,
}
