"""Read candles from CSV or Parquet files.

Columns as in the shared data set: ``timestamp`` (int ms UTC, bar open time), ``open``,
``high``, ``low``, ``close``, ``volume``. Float cells become ``Decimal`` through their
shortest repr (the number the exchange printed). A bad file is refused whole with an
error naming the file, the row and the problem.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from task_station.domain.candles import Candle
from task_station.domain.clock import ms_to_datetime
from task_station.domain.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


def read_frame(path: Path) -> pd.DataFrame:
    """Load and validate a candle file into a DataFrame (floats, for charts and analysis)."""
    import pandas as pd

    if not path.exists():
        raise DataError(f"candle file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            frame = pd.read_csv(path)
        else:
            raise DataError(f"{path.name}: unsupported file type {suffix!r}; use .csv or .parquet")
    except DataError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for corrupt files
        raise DataError(f"{path.name}: cannot be read as {suffix[1:]}: {exc}") from None
    return validate_frame(frame, path.name)


def validate_frame(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check columns, types, ordering and OHLC consistency; return a clean frame."""
    import pandas as pd

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{name}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)}"
        )
    if frame.empty:
        raise DataError(f"{name}: the file has no rows")
    frame = frame.loc[:, list(REQUIRED_COLUMNS)].copy()
    for column in REQUIRED_COLUMNS:
        numeric = pd.to_numeric(frame[column], errors="coerce")
        bad = numeric.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{name}: row {row + 1} column {column!r} is not a number "
                f"({frame[column].iloc[row]!r})"
            )
        frame[column] = numeric
    ts = frame["timestamp"]
    if (ts % 1 != 0).any():
        raise DataError(f"{name}: timestamps must be whole milliseconds")
    frame["timestamp"] = ts.astype("int64")
    steps = frame["timestamp"].diff().iloc[1:]
    if (steps <= 0).any():
        row = int((steps <= 0).to_numpy().nonzero()[0][0]) + 1
        raise DataError(f"{name}: timestamps must strictly increase (row {row + 1} does not)")
    lo = frame[["open", "close"]].min(axis=1)
    hi = frame[["open", "close"]].max(axis=1)
    broken = (
        (frame["low"] > lo) | (frame["high"] < hi) | (frame[list(PRICE_COLUMNS)] < 0).any(axis=1)
    )
    if broken.any():
        row = int(broken.to_numpy().nonzero()[0][0])
        r = frame.iloc[row]
        raise DataError(
            f"{name}: row {row + 1} is not a valid candle "
            f"(open={r.open} high={r.high} low={r.low} close={r.close} volume={r.volume})"
        )
    return frame.reset_index(drop=True)


def frame_to_candles(frame: pd.DataFrame) -> list[Candle]:
    """Convert a validated frame to exact-decimal candles."""
    columns = [frame[c].tolist() for c in REQUIRED_COLUMNS]
    return [
        Candle(
            ts=ms_to_datetime(int(t)),
            open=Decimal(repr(o)),
            high=Decimal(repr(h)),
            low=Decimal(repr(lo)),
            close=Decimal(repr(c)),
            volume=Decimal(repr(v)),
        )
        for t, o, h, lo, c, v in zip(*columns, strict=True)
    ]


def read_candles(path: Path) -> list[Candle]:
    """Read a candle file into exact-decimal candles, oldest first."""
    return frame_to_candles(read_frame(path))


def infer_timeframe(frame: pd.DataFrame) -> str:
    """Name the bar spacing of a frame (the most common step), e.g. ``1h``."""
    from task_station.domain.candles import TIMEFRAME_SECONDS

    if len(frame) < 2:
        return "1h"
    step_ms = int(frame["timestamp"].diff().mode().iloc[0])
    for name, seconds in TIMEFRAME_SECONDS.items():
        if seconds * 1000 == step_ms:
            return name
    return f"{step_ms // 1000}s"
