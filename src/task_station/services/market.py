"""Market data for bots, charts and backtests.

A data source is named by a string: ``synthetic:SEED`` (the built-in generator, offline),
``file:PATH`` (a CSV/Parquet candle file), or ``market:VENUE:BASE/QUOTE:TF`` (the closed
bars of a market as they are published on the bus: live feeds or a replay of stored
data; see ``engine.market_feed_source``). Loaded series are cached by name; a ``market:``
source has no stored series (its bars arrive while the bot runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from task_station.domain.candles import TIMEFRAME_SECONDS, Candle
from task_station.domain.errors import ValidationError
from task_station.domain.symbols import MarketSymbol
from task_station.marketdata.candle_files import frame_to_candles, infer_timeframe, read_frame
from task_station.marketdata.synthetic import SyntheticMarketSpec, generate_frame


@dataclass(frozen=True, slots=True)
class Series:
    source: str
    timeframe: str
    candles: tuple[Candle, ...]


SOURCE_KINDS = "'synthetic:SEED', 'file:PATH' or 'market:VENUE:BASE/QUOTE:TF'"


@dataclass(frozen=True, slots=True)
class MarketSource:
    """A ``market:`` data source: closed ``timeframe`` bars of ``venue``'s ``symbol``."""

    venue: str
    symbol: str
    timeframe: str

    def __str__(self) -> str:
        return f"market:{self.venue}:{self.symbol}:{self.timeframe}"


def parse_source(source: str) -> tuple[str, str]:
    kind, sep, arg = source.partition(":")
    if not sep or kind not in ("synthetic", "file", "market") or not arg:
        raise ValidationError(f"data source {source!r} must be {SOURCE_KINDS}")
    return kind, arg


def parse_market_source(arg: str) -> MarketSource:
    """``VENUE:BASE/QUOTE[:SETTLE]:TF`` (what follows ``market:``) to a ``MarketSource``."""
    market, sep, timeframe = arg.rpartition(":")
    example = "e.g. market:binance:BTC/USDT:1m"
    if not sep or not market or timeframe not in TIMEFRAME_SECONDS:
        known = ", ".join(TIMEFRAME_SECONDS)
        raise ValidationError(
            f"data source 'market:{arg}' must end with a timeframe ({known}); {example}"
        )
    symbol = MarketSymbol.parse(market)
    return MarketSource(symbol.venue, symbol.pair, timeframe)


class MarketService:
    def __init__(self, synthetic_bars: int = 3000) -> None:
        self._bars = synthetic_bars
        self._load = lru_cache(maxsize=16)(self._load_uncached)

    def series(self, source: str) -> Series:
        """Load (once) and return the candles of ``source`` (none for ``market:``)."""
        kind, arg = parse_source(source)
        if kind == "market":
            return Series(source, parse_market_source(arg).timeframe, ())
        if kind == "synthetic" and not arg.lstrip("-").isdigit():
            raise ValidationError(f"synthetic seed must be a whole number, got {arg!r}")
        return self._load(source)

    def candles(self, source: str, limit: int | None = None) -> list[Candle]:
        if limit is not None and limit < 1:
            raise ValidationError("limit must be at least 1")
        candles = self.series(source).candles
        return list(candles[-limit:] if limit else candles)

    def live_market(self, source: str) -> MarketSource | None:
        """The market a ``market:`` source follows on the bus; None for stored series."""
        kind, arg = parse_source(source)
        return parse_market_source(arg) if kind == "market" else None

    def _load_uncached(self, source: str) -> Series:
        kind, arg = parse_source(source)
        if kind == "synthetic":
            frame = generate_frame(SyntheticMarketSpec(seed=int(arg), bars=self._bars))
        else:
            frame = read_frame(Path(arg).expanduser())
        return Series(source, infer_timeframe(frame), tuple(frame_to_candles(frame)))
