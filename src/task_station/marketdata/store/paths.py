"""Where each stored series lives and which file holds which rows.

``<root>/<kind>/<venue>/<BASE_QUOTE>[/<timeframe>]/<period>.parquet``. The period of a
file depends on how dense its rows are: a day for trades, book snapshots and sub-minute
candles, a month for candles under an hour, a year for hourly and slower candles. So a
file holds a few thousand to a few hundred thousand rows, and a year of one-minute
candles is twelve files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.domain.errors import ValidationError

Kind = Literal["candles", "trades", "books"]
Period = Literal["D", "M", "Y"]
IntArray = npt.NDArray[np.int64]

_VENUE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_PART = r"[A-Za-z0-9][A-Za-z0-9.\-]{0,39}"
_SYMBOL = re.compile(rf"^({_PART})/({_PART})(?::({_PART}))?$")
_TIMEFRAME = re.compile(r"^([1-9][0-9]{0,3})([smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
PARTITION_FILE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?\.parquet$")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def timeframe_ms(timeframe: str) -> int:
    """The length of one bar of ``timeframe`` (``1m``, ``4h``, ``1d``, ``1w``) in ms."""
    if timeframe in TIMEFRAME_SECONDS:
        return TIMEFRAME_SECONDS[timeframe] * 1000
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise ValidationError(
            f"unknown timeframe {timeframe!r}; use a number and s, m, h, d or w, e.g. 1m, 4h, 1d"
            + (" (months have no fixed length: store 1d bars instead)" if "M" in timeframe else "")
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def check_venue(venue: str) -> str:
    """``venue`` if it is a safe directory name (a ccxt id such as ``binance``)."""
    if not _VENUE.match(venue):
        raise ValidationError(
            f"venue {venue!r} must be lower-case letters, digits, '.', '_' or '-' (e.g. binance)"
        )
    return venue


def symbol_dir(symbol: str) -> str:
    """``BTC/USDT`` -> ``BTC_USDT``; ``BTC/USDT:USDT`` -> ``BTC_USDT_USDT``."""
    match = _SYMBOL.match(symbol)
    if match is None:
        raise ValidationError(
            f"symbol {symbol!r} must look like BASE/QUOTE or BASE/QUOTE:SETTLE (e.g. BTC/USDT)"
        )
    return "_".join(part for part in match.groups() if part)


def symbol_from_dir(name: str) -> str:
    """The inverse of ``symbol_dir`` (symbols never contain ``_``)."""
    parts = name.split("_")
    if len(parts) == 3:
        return f"{parts[0]}/{parts[1]}:{parts[2]}"
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    return name


def candle_period(step_ms: int) -> Period:
    """How much time one candle file covers, from the bar length."""
    if step_ms < 60_000:
        return "D"
    if step_ms < HOUR_MS:
        return "M"
    return "Y"


def period_keys(ts: IntArray, period: Period) -> IntArray:
    """The period (days, months or years since 1970) of each timestamp."""
    unit = {"D": "datetime64[D]", "M": "datetime64[M]", "Y": "datetime64[Y]"}[period]
    keys: IntArray = ts.astype("datetime64[ms]").astype(unit).astype(np.int64)
    return keys


def period_name(key: int, period: Period) -> str:
    """``2024``, ``2024-03`` or ``2024-03-09``: the file stem of period ``key``."""
    return str(np.datetime64(int(key), period))


def period_bounds(stem: str) -> tuple[int, int]:
    """``[start, end)`` in ms of the period a file stem names."""
    period: Period = "Y" if len(stem) == 4 else ("M" if len(stem) == 7 else "D")
    start = np.datetime64(stem, period)
    end = start + np.timedelta64(1, period)
    return int(start.astype("datetime64[ms]").astype(np.int64)), int(
        end.astype("datetime64[ms]").astype(np.int64)
    )


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """One stored series: what it is, where and of what."""

    kind: Kind
    venue: str
    symbol: str
    timeframe: str | None = None

    def directory(self, root: Path) -> Path:
        base = root / self.kind / check_venue(self.venue) / symbol_dir(self.symbol)
        return base / self.timeframe if self.timeframe is not None else base

    @property
    def period(self) -> Period:
        if self.timeframe is None:
            return "D"
        return candle_period(timeframe_ms(self.timeframe))

    def describe(self) -> str:
        what = f"{self.venue} {self.symbol}"
        return f"{what} {self.timeframe} candles" if self.timeframe else f"{what} {self.kind}"


def partition_files(directory: Path) -> list[Path]:
    """The series' data files, oldest first (temporary and side files left out)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if PARTITION_FILE.match(p.name))


def files_overlapping(directory: Path, start_ms: int | None, end_ms: int | None) -> list[Path]:
    """The data files that may hold rows in ``[start_ms, end_ms)``."""
    out = []
    for path in partition_files(directory):
        lo, hi = period_bounds(path.stem)
        if (start_ms is None or hi > start_ms) and (end_ms is None or lo < end_ms):
            out.append(path)
    return out


def check_series(venue: str, symbol: str, timeframe: str | None = None) -> None:
    """Refuse a venue, symbol or timeframe the store cannot name, before any work."""
    check_venue(venue)
    symbol_dir(symbol)
    if timeframe is not None:
        timeframe_ms(timeframe)
