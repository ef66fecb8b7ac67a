"""Candle rows: the columns, their checks, and how new bars merge into stored ones.

Columns are ``ts`` (bar open, int64 ms UTC) and float64 ``open``, ``high``, ``low``,
``close``, ``volume``: the same cells as ``BarColumns``, whose exact ``Decimal`` of a
cell is the shortest repr of its float (the number the exchange printed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from task_station.domain.bar_columns import FIELDS, BarColumns
from task_station.domain.clock import ms_to_datetime
from task_station.domain.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

Columns = dict[str, npt.NDArray[Any]]
COLUMNS = ("ts", *FIELDS)
#: Bars before 2000 or more than a day ahead are refused: almost always seconds or
#: microseconds passed as milliseconds.
EARLIEST_MS = 946_684_800_000


def columns_of(data: pd.DataFrame | BarColumns | Columns) -> Columns:
    """Candle columns from a frame (``timestamp`` or ``ts`` plus OHLCV), ``BarColumns`` or a
    mapping of arrays; ``ts`` becomes int64 and the prices float64."""
    if isinstance(data, BarColumns):
        source: Any = {"ts": data.ts, **{name: getattr(data, name) for name in FIELDS}}
    else:
        source = data
    names = set(source.keys()) if isinstance(source, dict) else set(source.columns)
    ts_name = "ts" if "ts" in names else "timestamp"
    missing = [c for c in (ts_name, *FIELDS) if c not in names]
    if missing:
        raise DataError(
            f"candles need columns timestamp (or ts), {', '.join(FIELDS)}; "
            f"missing {', '.join(missing)}"
        )
    out: Columns = {}
    try:
        raw_ts = np.asarray(source[ts_name])
        fractional = raw_ts.dtype.kind == "f" and (
            not np.all(np.isfinite(raw_ts)) or bool(np.any(raw_ts % 1 != 0))
        )
        if fractional:
            raise DataError("candle timestamps must be whole milliseconds")
        out["ts"] = np.ascontiguousarray(raw_ts, dtype=np.int64)
        for name in FIELDS:
            out[name] = np.ascontiguousarray(np.asarray(source[name], dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise DataError(f"candle columns must be numbers: {exc}") from None
    return out


def _row(cols: Columns, i: int) -> str:
    when = ms_to_datetime(int(cols["ts"][i])).strftime("%Y-%m-%d %H:%M:%S UTC")
    values = " ".join(f"{n}={cols[n][i]!r}" for n in FIELDS)
    return f"row {i + 1} ({when}: {values})"


def _first(mask: npt.NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def validate(cols: Columns, step_ms: int, phase_ms: int | None, what: str, now_ms: int) -> None:
    """Refuse the whole batch, naming the first bad row, unless every bar is sound.

    Sound: strictly increasing timestamps on the series' grid (``ts % step == phase``),
    within 2000 .. now + 1 day, finite prices, ``0 <= low <= min(open, close)``,
    ``high >= max(open, close)``, non-negative volume.
    """
    ts = cols["ts"]
    if len(ts) == 0:
        return
    bad = _first(np.diff(ts) <= 0)
    if bad is not None:
        raise DataError(
            f"{what}: timestamps must strictly increase with no duplicates; "
            f"{_row(cols, bad + 1)} follows {_row(cols, bad)}"
        )
    if ts[0] < EARLIEST_MS or ts[-1] > now_ms + 86_400_000:
        i = 0 if ts[0] < EARLIEST_MS else len(ts) - 1
        raise DataError(
            f"{what}: timestamp {int(ts[i])} ({_row(cols, i)}) is outside 2000..now; "
            "timestamps must be milliseconds since 1970 (multiply seconds by 1000)"
        )
    phase = int(ts[0] % step_ms) if phase_ms is None else phase_ms
    bad = _first(ts % step_ms != phase)
    if bad is not None:
        raise DataError(
            f"{what}: {_row(cols, bad)} is not on the bar grid of this series "
            f"(every bar must open a whole number of {step_ms // 1000}s steps apart); "
            "check the timeframe"
        )
    o, h, lo, c, v = (cols[n] for n in FIELDS)
    finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & np.isfinite(v)
    bad = _first(~finite)
    if bad is not None:
        raise DataError(f"{what}: {_row(cols, bad)} has a missing or infinite value")
    broken = (lo < 0) | (lo > np.minimum(o, c)) | (h < np.maximum(o, c)) | (v < 0)
    bad = _first(broken)
    if bad is not None:
        raise DataError(
            f"{what}: {_row(cols, bad)} is not a valid candle "
            "(need 0 <= low <= open, close <= high and volume >= 0)"
        )


def sound_rows(cols: Columns) -> npt.NDArray[np.bool_]:
    """Which rows are valid candles (for venue pages, where bad bars are dropped)."""
    o, h, lo, c, v = (cols[n] for n in FIELDS)
    finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & np.isfinite(v)
    with np.errstate(invalid="ignore"):
        ok = (lo >= 0) & (lo <= np.minimum(o, c)) & (h >= np.maximum(o, c)) & (v >= 0)
    result: npt.NDArray[np.bool_] = finite & ok
    return result


def take(cols: Columns, index: Any) -> Columns:
    return {name: values[index] for name, values in cols.items()}


def unique_sorted(cols: Columns) -> Columns:
    """Rows sorted by time; of rows with the same time, the last one given wins."""
    order = np.argsort(cols["ts"], kind="stable")
    ts = cols["ts"][order]
    keep = np.ones(len(ts), dtype=bool)
    keep[:-1] = ts[:-1] != ts[1:]  # the last of each run of equal timestamps
    return {name: values[order][keep] for name, values in cols.items()}


def concat(parts: list[Columns]) -> Columns:
    if not parts:
        return empty()
    return {name: np.concatenate([p[name] for p in parts]) for name in COLUMNS}


def merge(old: Columns, new: Columns) -> Columns:
    """Old and new bars sorted by time; where both have a bar, the new one wins."""
    if not len(old["ts"]):
        return new
    return unique_sorted(concat([old, new]))


def empty() -> Columns:
    cols: Columns = {"ts": np.empty(0, dtype=np.int64)}
    cols.update({name: np.empty(0, dtype=np.float64) for name in FIELDS})
    return cols


def to_bar_columns(cols: Columns) -> BarColumns:
    return BarColumns(
        cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"]
    )
