"""Market data for bots, charts and backtests.

A data source is named by a string: ``synthetic:SEED`` (the built-in generator, offline)
or ``file:PATH`` (a CSV/Parquet candle file). Loaded series are cached by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from task_station.domain.candles import Candle
from task_station.domain.errors import ValidationError
from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe, read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame


@dataclass(frozen=True, slots=True)
class Series:
    source: str
    timeframe: str
    candles: tuple[Candle, ...]


def parse_source(source: str) -> tuple[str, str]:
    kind, sep, arg = source.partition(":")
    if not sep or kind not in ("synthetic", "file") or not arg:
        raise ValidationError(f"data source {source!r} must be 'synthetic:SEED' or 'file:PATH'")
    return kind, arg


class MarketService:
    def __init__(self, synthetic_bars: int = 3000) -> None:
        self._bars = synthetic_bars
        self._load = lru_cache(maxsize=16)(self._load_uncached)

    def series(self, source: str) -> Series:
        """Load (once) and return the candles of ``source``."""
        kind, arg = parse_source(source)
        if kind == "synthetic" and not arg.lstrip("-").isdigit():
            raise ValidationError(f"synthetic seed must be a whole number, got {arg!r}")
        return self._load(source)

    def candles(self, source: str, limit: int | None = None) -> list[Candle]:
        if limit is not None and limit < 1:
            raise ValidationError("limit must be at least 1")
        candles = self.series(source).candles
        return list(candles[-limit:] if limit else candles)

    def _load_uncached(self, source: str) -> Series:
        kind, arg = parse_source(source)
        if kind == "synthetic":
            frame = generate_frame(SyntheticMarketSpec(seed=int(arg), bars=self._bars))
        else:
            frame = read_frame(Path(arg).expanduser())
        return Series(source, infer_timeframe(frame), tuple(frame_to_candles(frame)))
