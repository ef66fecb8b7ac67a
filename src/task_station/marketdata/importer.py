"""Import candle files (CSV or Parquet) into the store, all or nothing.

The file is read and checked whole before anything is written: columns, numbers,
strictly increasing timestamps (sorted, no duplicates), ``low <= open, close <= high``,
no NaN or infinity, bars on the timeframe's grid and as far apart as the timeframe
says. Any problem refuses the file with a ``DataError`` that names the file, the row
and the fix; the store is left as it was. Timestamps may be milliseconds since 1970,
ISO dates (``2024-01-31 12:00``, UTC unless they carry an offset) or Parquet timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from task_station.domain.candles import TIMEFRAME_SECONDS
from task_station.domain.clock import ms_to_datetime
from task_station.domain.errors import DataError
from task_station.marketdata.candle_files import validate_frame
from task_station.marketdata.store import MarketStore, timeframe_ms
from task_station.marketdata.store.candles import EARLIEST_MS

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import stored: ``replaced`` bars were already stored and now hold the
    file's values."""

    venue: str
    symbol: str
    timeframe: str
    rows: int
    first_ms: int
    last_ms: int
    replaced: int

    @property
    def first(self) -> datetime:
        return ms_to_datetime(self.first_ms)

    @property
    def last(self) -> datetime:
        return ms_to_datetime(self.last_ms)


def _load(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"candle file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".parquet"):
        raise DataError(f"{path.name}: unsupported file type {suffix!r}; use .csv or .parquet")
    try:
        return pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pandas and pyarrow raise many types for damaged files
        raise DataError(f"{path.name}: cannot be read as {suffix[1:]}: {exc}") from None


def _timestamps_to_ms(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Dates (Parquet timestamps, ISO strings) as int ms; numbers are left as they are."""
    import pandas as pd

    if "timestamp" not in frame.columns:
        return frame
    column = frame["timestamp"]
    if pd.api.types.is_numeric_dtype(column):
        return frame
    if not pd.api.types.is_datetime64_any_dtype(column):
        if pd.to_numeric(column, errors="coerce").notna().all():
            return frame
        try:
            column = pd.to_datetime(column, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"{name}: column 'timestamp' holds neither milliseconds nor ISO dates ({exc})"
            ) from None
    elif column.dt.tz is None:
        column = column.dt.tz_localize("UTC")
    frame = frame.copy()
    frame["timestamp"] = column.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64")
    return frame


def _spacing_name(ms: int) -> str:
    for name, seconds in TIMEFRAME_SECONDS.items():
        if seconds * 1000 == ms:
            return name
    return f"{ms / 1000:g}s"


def _check_spacing(frame: pd.DataFrame, timeframe: str, name: str) -> None:
    """Refuse a file whose bars are mostly not one ``timeframe`` apart (5m bars given as
    1m would store as 1m bars with four missing between each)."""
    diffs = np.diff(frame["timestamp"].to_numpy(dtype=np.int64))
    if not len(diffs):
        return
    values, counts = np.unique(diffs, return_counts=True)
    common = int(values[counts.argmax()])
    if common != timeframe_ms(timeframe):
        raise DataError(
            f"{name}: bars are mostly {_spacing_name(common)} apart, not {timeframe}; "
            "pass the timeframe the file holds"
        )


def _check_units(frame: pd.DataFrame, name: str) -> None:
    """Refuse seconds or microseconds given as milliseconds (they would land in 1970 or in
    the far future)."""
    ts = frame["timestamp"].to_numpy(dtype=np.int64)
    if ts[0] < EARLIEST_MS:
        raise DataError(f"{name}: timestamp {int(ts[0])} in row 1 is before 2000: timestamps "
                        "must be milliseconds since 1970 (multiply seconds by 1000)")  # fmt: skip
    if ts[-1] > 10**14:
        raise DataError(f"{name}: timestamp {int(ts[-1])} is far in the future: timestamps "
                        "must be milliseconds since 1970, not micro- or nanoseconds")  # fmt: skip


def read_candle_file(path: Path, timeframe: str) -> pd.DataFrame:
    """Load and check a candle file for ``timeframe``; raises ``DataError`` naming the row."""
    frame = _timestamps_to_ms(_load(path), path.name)
    frame = validate_frame(frame, path.name)
    _check_units(frame, path.name)
    _check_spacing(frame, timeframe, path.name)
    return frame


def import_candles(
    store: MarketStore, path: Path, venue: str, symbol: str, timeframe: str
) -> ImportResult:
    """Check ``path`` whole, then merge its bars into the store (file values win)."""
    frame = read_candle_file(path, timeframe)
    ts = frame["timestamp"].to_numpy(dtype=np.int64)
    stored = store.candle_times(venue, symbol, timeframe, int(ts[0]), int(ts[-1]) + 1)
    try:
        rows = store.write_candles(venue, symbol, timeframe, frame)
    except DataError as exc:
        raise DataError(f"{path.name}: {exc}") from None
    return ImportResult(
        venue, symbol, timeframe, rows, int(ts[0]), int(ts[-1]), int(np.isin(ts, stored).sum())
    )
