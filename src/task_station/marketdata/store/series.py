"""What the store reports: stored series, their gaps, and ranges known to have no data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from task_station.domain.clock import ms_to_datetime

Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars between two stored ones: ``[start_ms, end_ms)`` on the bar grid.

    ``confirmed`` means the venue was asked for exactly this range and has no data for
    it (an outage, a delisting): downloads do not ask again unless told to.
    """

    start_ms: int
    end_ms: int
    missing: int
    confirmed: bool = False

    @property
    def start(self) -> datetime:
        return ms_to_datetime(self.start_ms)

    @property
    def end(self) -> datetime:
        return ms_to_datetime(self.end_ms)


@dataclass(frozen=True, slots=True)
class StoredSeries:
    """One stored series. ``timeframe`` is None for trades and book snapshots, which
    have no bar grid and so no gaps; ``first_ms``/``last_ms`` are row timestamps."""

    kind: str
    venue: str
    symbol: str
    timeframe: str | None
    first_ms: int
    last_ms: int
    rows: int
    gaps: tuple[Gap, ...] = ()
    files: int = 0
    size_bytes: int = 0

    @property
    def first(self) -> datetime:
        return ms_to_datetime(self.first_ms)

    @property
    def last(self) -> datetime:
        return ms_to_datetime(self.last_ms)

    @property
    def missing_bars(self) -> int:
        return sum(g.missing for g in self.gaps)


def normalize(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, non-empty, with overlapping or touching ranges joined."""
    out: list[Range] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def covered(ranges: list[Range], start: int, end: int) -> bool:
    """Whether ``[start, end)`` lies inside one of the normalized ``ranges``."""
    return any(lo <= start and end <= hi for lo, hi in ranges)


def subtract(start: int, end: int, ranges: list[Range]) -> list[Range]:
    """``[start, end)`` less the normalized ``ranges``."""
    out: list[Range] = []
    cursor = start
    for lo, hi in ranges:
        if hi <= cursor or lo >= end:
            continue
        if lo > cursor:
            out.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < end:
        out.append((cursor, end))
    return out


def find_gaps(ts: npt.NDArray[np.int64], step_ms: int, no_data: list[Range]) -> list[Gap]:
    """Runs of missing bars between consecutive stored bars."""
    if len(ts) < 2:
        return []
    jumps = np.flatnonzero(np.diff(ts) > step_ms)
    gaps = []
    for i in jumps:
        start, end = int(ts[i]) + step_ms, int(ts[i + 1])
        missing = (end - start) // step_ms
        gaps.append(Gap(start, end, missing, covered(no_data, start, end)))
    return gaps
