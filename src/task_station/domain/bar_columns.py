"""Candles as columns: what a replay of a million bars is made of.

A list of ``Candle`` objects costs about 3 µs and 600 bytes a bar before anything runs;
a replay of a million one-minute bars cannot afford that. ``BarColumns`` keeps the bars
as numpy arrays (the candle file's own float64 cells) and makes the exact ``Decimal``
of a cell only when something reads it: the shortest repr of the float, which is the
number the exchange printed, exactly as ``candle_files.frame_to_candles`` does. When the
columns were built from candles, those candles' own Decimals are the values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from task_station.domain.candles import Candle
from task_station.domain.errors import DataError


class _Column(Protocol):
    def to_numpy(self, dtype: type) -> npt.NDArray[np.generic]: ...


class _Frame(Protocol):
    """A candle frame (``candle_files.read_frame``): anything indexable by column name."""

    def __getitem__(self, name: str) -> _Column: ...


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
PriceField = Literal["open", "high", "low", "close", "volume"]
FIELDS: tuple[PriceField, ...] = ("open", "high", "low", "close", "volume")


@dataclass(eq=False)
class BarColumns:
    """OHLCV bars of one instrument, oldest first; ``ts`` is each bar's open (ms UTC)."""

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    #: The exact candles these columns came from, when they did (their Decimals win).
    candles: Sequence[Candle] | None = None
    _exact: dict[str, dict[int, Decimal]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in FIELDS:
            if len(getattr(self, name)) != n:
                raise DataError(
                    f"bar columns differ in length: {n} timestamps but "
                    f"{len(getattr(self, name))} {name} values"
                )
        if self.candles is not None and len(self.candles) != n:
            raise DataError(f"bar columns: {n} rows but {len(self.candles)} candles")

    def __len__(self) -> int:
        return len(self.ts)

    def __repr__(self) -> str:
        return f"BarColumns({len(self)} bars)"

    @classmethod
    def from_frame(cls, frame: _Frame) -> BarColumns:
        """Columns of a validated candle frame (``candle_files.read_frame``)."""
        ts = np.ascontiguousarray(frame["timestamp"].to_numpy(dtype=np.int64), dtype=np.int64)
        o, h, lo, c, v = (
            np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64), dtype=np.float64)
            for name in FIELDS
        )
        return cls(ts, o, h, lo, c, v)

    @classmethod
    def from_candles(cls, candles: Sequence[Candle]) -> BarColumns:
        """Columns over exact candles (kept: their Decimals are what a replay reads)."""
        if not candles:
            raise DataError("no candles to replay")
        ms = [int(c.ts.timestamp() * 1000) for c in candles]
        o, h, lo, c, v = (
            np.fromiter((float(getattr(k, name)) for k in candles), np.float64, len(candles))
            for name in FIELDS
        )
        return cls(np.asarray(ms, dtype=np.int64), o, h, lo, c, v, candles=candles)

    def exact(self, name: PriceField, i: int) -> Decimal:
        """The exact value of one cell (made once, then kept)."""
        cache = self._exact.get(name)
        if cache is None:
            cache = self._exact[name] = {}
        value = cache.get(i)
        if value is None:
            if self.candles is not None:
                value = getattr(self.candles[i], name)
            else:
                value = Decimal(repr(float(getattr(self, name)[i])))
            cache[i] = value
        return value

    def time(self, i: int) -> datetime:
        """Bar ``i``'s open time."""
        return datetime.fromtimestamp(int(self.ts[i]) / 1000, tz=UTC)

    def candle(self, i: int) -> Candle:
        """Bar ``i`` as an exact candle."""
        if self.candles is not None:
            return self.candles[i]
        return Candle(self.time(i), *(self.exact(name, i) for name in FIELDS))

    def slice(self, start: int, stop: int) -> BarColumns:
        """Bars ``start`` to ``stop`` (views, no copy)."""
        return BarColumns(
            self.ts[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
            candles=None if self.candles is None else self.candles[start:stop],
        )

    def decimal_places(self, name: PriceField) -> int | None:
        """The fewest decimal places (<= 12) that hold every value of a column exactly as
        printed, or None when some value needs more: the scale of exact integer math."""
        values = getattr(self, name)
        for places in range(13):
            scale = 10.0**places
            scaled = np.round(values * scale)
            if not np.all(np.abs(scaled) < 2.0**53):
                return None
            # k / 10**p is correctly rounded, so it gives back x exactly when x is the
            # double nearest a decimal with p places: the number that was printed.
            if np.array_equal(scaled / scale, values):
                return places
        return None


class ReplayBar(Candle):
    """Bar ``i`` of a ``BarColumns``, read lazily: a ``Candle`` to every reader.

    A replay hands one to the strategy on every bar; most strategies read one or two of
    its fields, so each exact Decimal (and the datetime) is made only when read. Build
    them with ``replay_bar`` (the dataclass constructor is not theirs).
    """

    __slots__ = ("_bars", "_i")
    _bars: BarColumns
    _i: int

    @property  # type: ignore[override]
    def ts(self) -> datetime:
        return self._bars.time(self._i)

    @property  # type: ignore[override]
    def open(self) -> Decimal:
        return self._bars.exact("open", self._i)

    @property  # type: ignore[override]
    def high(self) -> Decimal:
        return self._bars.exact("high", self._i)

    @property  # type: ignore[override]
    def low(self) -> Decimal:
        return self._bars.exact("low", self._i)

    @property  # type: ignore[override]
    def close(self) -> Decimal:
        return self._bars.exact("close", self._i)

    @property  # type: ignore[override]
    def volume(self) -> Decimal:
        return self._bars.exact("volume", self._i)

    @property
    def index(self) -> int:
        """Which bar of the replay this is."""
        return self._i

    def __reduce__(self) -> tuple[type[Candle], tuple[object, ...]]:
        # copies and pickles are plain candles
        return (Candle, (self.ts, self.open, self.high, self.low, self.close, self.volume))


_new_bar = object.__new__
# The slots' own setters: the frozen dataclass's __setattr__ is a Python call per field.
_set_bars = vars(ReplayBar)["_bars"].__set__
_set_index = vars(ReplayBar)["_i"].__set__


def replay_bar(bars: BarColumns, i: int) -> ReplayBar:
    """Bar ``i`` of ``bars`` as a lazy candle (about 0.2 µs: replays make one a bar)."""
    bar: ReplayBar = _new_bar(ReplayBar)
    _set_bars(bar, bars)
    _set_index(bar, i)
    return bar
