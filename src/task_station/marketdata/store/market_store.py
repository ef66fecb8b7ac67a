"""``MarketStore``: candles, trades and book snapshots in Parquet files (see the package
docstring for the layout, the guarantees and the API)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from task_station.domain.bar_columns import BarColumns
from task_station.domain.clock import Clock, SystemClock, datetime_to_ms
from task_station.domain.errors import DataError
from task_station.marketdata.store import candles as cnd
from task_station.marketdata.store import ticks
from task_station.marketdata.store.files import (
    commit,
    read_json,
    read_table,
    remove_stale_temps,
    series_lock,
    write_json_atomic,
    write_table_tmp,
)
from task_station.marketdata.store.paths import (
    IntArray,
    Kind,
    Period,
    SeriesKey,
    files_overlapping,
    partition_files,
    period_keys,
    period_name,
    symbol_from_dir,
    timeframe_ms,
)
from task_station.marketdata.store.series import (
    Gap,
    Range,
    StoredSeries,
    find_gaps,
    normalize,
)

if TYPE_CHECKING:
    import pandas as pd

NO_DATA_FILE = "_nodata.json"
META_KEY = b"task_station"
Merge = Callable[[Any | None, Any], Any]  # (stored table or None, new table) -> table


def _split_points(ts: IntArray, period: Period) -> list[tuple[int, int, int]]:
    """``(key, start, stop)`` row slices of sorted ``ts`` that fall in one period each."""
    keys = period_keys(ts, period)
    cuts = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(ts)]
    return [(int(keys[a]), a, b) for a, b in itertools.pairwise(cuts)]


def _range_slice(ts: IntArray, start_ms: int | None, end_ms: int | None) -> slice:
    lo = 0 if start_ms is None else int(np.searchsorted(ts, start_ms, side="left"))
    hi = len(ts) if end_ms is None else int(np.searchsorted(ts, end_ms, side="left"))
    return slice(lo, hi)


class MarketStore:
    """Market data under ``root``, partitioned by kind, venue, symbol and timeframe."""

    def __init__(self, root: Path, *, clock: Clock | None = None) -> None:
        self.root = Path(root)
        self._clock = clock or SystemClock()

    def _now_ms(self) -> int:
        return datetime_to_ms(self._clock.now())

    # -- shared plumbing ----------------------------------------------------------

    def _meta(self, key: SeriesKey) -> dict[bytes, bytes]:
        payload = {"kind": key.kind, "venue": key.venue, "symbol": key.symbol}
        if key.timeframe is not None:
            payload["timeframe"] = key.timeframe
        return {META_KEY: json.dumps(payload).encode()}

    def _write_parts(
        self, key: SeriesKey, directory: Path, parts: dict[str, Any], merge: Merge
    ) -> None:
        """Merge each new table into its period file; all temporaries are written and
        synced before the first rename, so a failure renames nothing."""
        pending: list[tuple[Path, Path]] = []
        try:
            for stem, new in parts.items():
                target = directory / f"{stem}.parquet"
                old = read_table(target) if target.exists() else None
                merged = merge(old, new).replace_schema_metadata(self._meta(key))
                pending.append((write_table_tmp(merged, target), target))
        except BaseException:
            for tmp, _ in pending:
                tmp.unlink(missing_ok=True)
            raise
        commit(pending)

    def _read_ts(self, path: Path) -> IntArray:
        ts: IntArray = read_table(path, ["ts"]).column("ts").to_numpy()
        return ts

    # -- candles --------------------------------------------------------------------

    def _candle_key(self, venue: str, symbol: str, timeframe: str) -> SeriesKey:
        timeframe_ms(timeframe)  # refuse an unknown timeframe before touching the disk
        return SeriesKey("candles", venue, symbol, timeframe)

    def write_candles(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        data: pd.DataFrame | BarColumns | Mapping[str, npt.ArrayLike],
    ) -> int:
        """Merge candles into the series; a stored bar at the same time is replaced.

        The batch is checked whole first (see ``candles.validate``): one bad bar and
        nothing is written. Returns the number of bars in the batch.
        """
        import pyarrow as pa

        key = self._candle_key(venue, symbol, timeframe)
        step = timeframe_ms(timeframe)
        cols = cnd.columns_of(data)  # type: ignore[arg-type]
        if not len(cols["ts"]):
            return 0
        directory = key.directory(self.root)
        cnd.validate(cols, step, None, key.describe(), self._now_ms())  # before any mkdir
        with series_lock(directory):
            remove_stale_temps(directory)
            phase = self._phase(directory, step)
            if phase is not None:  # and on the stored bars' grid
                cnd.validate(cols, step, phase, key.describe(), self._now_ms())
            parts = {
                period_name(k, key.period): pa.table(cnd.take(cols, slice(a, b)))
                for k, a, b in _split_points(cols["ts"], key.period)
            }
            self._write_parts(key, directory, parts, _merge_candle_tables)
        return len(cols["ts"])

    def grid_phase(self, venue: str, symbol: str, timeframe: str) -> int | None:
        """Where stored bars sit on the grid (``ts % step``: 0 except e.g. Monday-opening
        weekly bars), None when nothing is stored."""
        key = self._candle_key(venue, symbol, timeframe)
        return self._phase(key.directory(self.root), timeframe_ms(timeframe))

    def _phase(self, directory: Path, step: int) -> int | None:
        """Where the stored bars sit on the grid (``ts % step``), None if none are stored."""
        files = partition_files(directory)
        if not files:
            return None
        ts = self._read_ts(files[0])
        return int(ts[0] % step) if len(ts) else None

    def _candle_columns(
        self,
        key: SeriesKey,
        start_ms: int | None,
        end_ms: int | None,
        names: tuple[str, ...] = cnd.COLUMNS,
    ) -> cnd.Columns:
        pieces: list[cnd.Columns] = []
        for path in files_overlapping(key.directory(self.root), start_ms, end_ms):
            table = read_table(path, list(names))
            cols = {name: table.column(name).to_numpy() for name in names}
            window = _range_slice(cols["ts"], start_ms, end_ms)
            pieces.append({name: values[window] for name, values in cols.items()})
        if not pieces:
            return {name: cnd.empty()[name] for name in names}
        return {name: np.concatenate([p[name] for p in pieces]) for name in names}

    def read_candles(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> BarColumns:
        """Bars opening in ``[start_ms, end_ms)`` (None: unbounded), oldest first.

        An unknown series reads as zero bars. The arrays are fresh (writable) copies.
        """
        key = self._candle_key(venue, symbol, timeframe)
        return cnd.to_bar_columns(self._candle_columns(key, start_ms, end_ms))

    def read_candles_frame(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pd.DataFrame:
        """``read_candles`` as a frame in the candle-file layout (``timestamp`` first)."""
        import pandas as pd

        key = self._candle_key(venue, symbol, timeframe)
        cols = self._candle_columns(key, start_ms, end_ms)
        return pd.DataFrame({"timestamp": cols.pop("ts"), **cols})

    def candle_times(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> IntArray:
        """Open times of the stored bars in ``[start_ms, end_ms)`` (reads one column)."""
        key = self._candle_key(venue, symbol, timeframe)
        return self._candle_columns(key, start_ms, end_ms, ("ts",))["ts"]

    def no_data_ranges(self, venue: str, symbol: str, timeframe: str) -> list[Range]:
        """Ranges the venue was asked for and had no bars in (see ``record_no_data``)."""
        directory = self._candle_key(venue, symbol, timeframe).directory(self.root)
        payload = read_json(directory / NO_DATA_FILE)
        if not payload:
            return []
        return normalize((int(a), int(b)) for a, b in payload.get("ranges", []))

    def record_no_data(self, venue: str, symbol: str, timeframe: str, ranges: list[Range]) -> None:
        """Remember that the venue has no bars in ``ranges`` so gaps there are not asked
        for again on every download (``forget_no_data`` undoes it)."""
        key = self._candle_key(venue, symbol, timeframe)
        directory = key.directory(self.root)
        with series_lock(directory):
            known = self.no_data_ranges(venue, symbol, timeframe)
            merged = normalize([*known, *ranges])
            if merged != known:
                write_json_atomic(directory / NO_DATA_FILE, {"ranges": merged})

    def forget_no_data(self, venue: str, symbol: str, timeframe: str) -> None:
        """Let downloads ask the venue again for every gap."""
        directory = self._candle_key(venue, symbol, timeframe).directory(self.root)
        with series_lock(directory):
            (directory / NO_DATA_FILE).unlink(missing_ok=True)

    def gaps(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[Gap]:
        """Runs of missing bars between stored bars, those overlapping ``[start, end)``."""
        step = timeframe_ms(timeframe)
        ts = self.candle_times(venue, symbol, timeframe)
        found = find_gaps(ts, step, self.no_data_ranges(venue, symbol, timeframe))
        return [
            g
            for g in found
            if (start_ms is None or g.end_ms > start_ms) and (end_ms is None or g.start_ms < end_ms)
        ]

    # -- trades and book snapshots ------------------------------------------------

    def _write_frame(self, key: SeriesKey, frame: pd.DataFrame, merge: Merge) -> int:
        import pyarrow as pa

        if frame.empty:
            return 0
        ts = frame["ts"].to_numpy(dtype=np.int64)
        directory = key.directory(self.root)
        with series_lock(directory):
            remove_stale_temps(directory)
            parts = {
                period_name(k, key.period): pa.Table.from_pandas(
                    frame.iloc[a:b], preserve_index=False
                )
                for k, a, b in _split_points(ts, key.period)
            }
            self._write_parts(key, directory, parts, merge)
        return len(frame)

    def _read_frame(
        self, key: SeriesKey, columns: tuple[str, ...], start_ms: int | None, end_ms: int | None
    ) -> pd.DataFrame:
        import pandas as pd

        pieces = []
        for path in files_overlapping(key.directory(self.root), start_ms, end_ms):
            frame = read_table(path, list(columns)).to_pandas()
            window = _range_slice(frame["ts"].to_numpy(), start_ms, end_ms)
            pieces.append(frame.iloc[window])
        if not pieces:
            return pd.DataFrame({name: pd.Series(dtype=_DTYPES[name]) for name in columns})
        joined: pd.DataFrame = pd.concat(pieces, ignore_index=True)
        return joined

    def write_trades(self, venue: str, symbol: str, data: Any) -> int:
        """Merge public trades (a frame or mapping with ``ts``, ``price``, ``amount`` and
        optional ``side``, ``id``); checked whole first. Returns the batch's row count."""
        key = SeriesKey("trades", venue, symbol)
        frame = ticks.trades_frame(data, key.describe(), self._now_ms())
        return self._write_frame(key, frame, _frames_merge(ticks.merge_trades))

    def read_trades(
        self, venue: str, symbol: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> pd.DataFrame:
        """Trades in ``[start_ms, end_ms)``, oldest first (columns ``ticks.TRADE_COLUMNS``)."""
        return self._read_frame(
            SeriesKey("trades", venue, symbol), ticks.TRADE_COLUMNS, start_ms, end_ms
        )

    def write_book_snapshots(self, venue: str, symbol: str, data: Any) -> int:
        """Merge book snapshots, one row per level (``ts``, ``side``, ``level``, ``price``,
        ``amount``; ``ticks.book_rows`` builds them); checked whole first. Returns rows."""
        key = SeriesKey("books", venue, symbol)
        frame = ticks.books_frame(data, key.describe(), self._now_ms())
        return self._write_frame(key, frame, _frames_merge(ticks.merge_books))

    def read_book_snapshots(
        self, venue: str, symbol: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> pd.DataFrame:
        """Book levels of the snapshots taken in ``[start_ms, end_ms)``."""
        return self._read_frame(
            SeriesKey("books", venue, symbol), ticks.BOOK_COLUMNS, start_ms, end_ms
        )

    # -- inventory ------------------------------------------------------------------

    def inventory(self, *, with_gaps: bool = True) -> list[StoredSeries]:
        """Every stored series, sorted by kind, venue, symbol and timeframe."""
        found = []
        for kind, depth in (("candles", 3), ("trades", 2), ("books", 2)):
            base = self.root / kind
            if not base.is_dir():
                continue
            pattern = "/".join(["*"] * depth)
            for directory in sorted(p for p in base.glob(pattern) if p.is_dir()):
                series = self._describe(kind, directory, with_gaps)  # type: ignore[arg-type]
                if series is not None:
                    found.append(series)
        return found

    def _describe(self, kind: Kind, directory: Path, with_gaps: bool) -> StoredSeries | None:
        files = partition_files(directory)
        if not files:
            return None
        ts = np.concatenate([self._read_ts(path) for path in files])
        if not len(ts):
            return None
        timeframe = directory.name if kind == "candles" else None
        venue = (directory.parents[1] if kind == "candles" else directory.parent).name
        symbol = _stored_symbol(files[0]) or symbol_from_dir(
            (directory.parent if kind == "candles" else directory).name
        )
        gaps: list[Gap] = []
        rows = len(ts)
        if timeframe is not None and with_gaps:
            no_data = self.no_data_ranges(venue, symbol, timeframe)
            gaps = find_gaps(ts, timeframe_ms(timeframe), no_data)
        if kind == "books":
            rows = len(np.unique(ts))  # snapshots, not levels
        return StoredSeries(
            kind=kind,
            venue=venue,
            symbol=symbol,
            timeframe=timeframe,
            first_ms=int(ts.min()),
            last_ms=int(ts.max()),
            rows=rows,
            gaps=tuple(gaps),
            files=len(files),
            size_bytes=sum(p.stat().st_size for p in files),
        )


_DTYPES = {
    "ts": "int64",
    "price": "float64",
    "amount": "float64",
    "level": "int32",
    "side": "object",
    "id": "object",
}


def _merge_candle_tables(old: Any | None, new: Any) -> Any:
    import pyarrow as pa

    new_cols = {name: new.column(name).to_numpy() for name in cnd.COLUMNS}
    if old is None:
        return pa.table(new_cols)
    try:
        old_cols = {name: old.column(name).to_numpy() for name in cnd.COLUMNS}
    except KeyError as exc:
        raise DataError(f"a stored candle file lacks column {exc}; delete it") from None
    return pa.table(cnd.merge(old_cols, new_cols))


def _frames_merge(merge: Callable[[Any, Any], Any]) -> Merge:
    def run(old: Any | None, new: Any) -> Any:
        import pyarrow as pa

        fresh = new.to_pandas()
        merged = fresh if old is None else merge(old.select(list(fresh.columns)).to_pandas(), fresh)
        return pa.Table.from_pandas(merged, preserve_index=False)

    return run


def _stored_symbol(path: Path) -> str | None:
    """The exact symbol written into a data file's metadata."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        payload = json.loads(meta.get(META_KEY, b"{}"))
    except Exception:  # an unreadable footer: fall back to the directory name
        return None
    symbol = payload.get("symbol")
    return symbol if isinstance(symbol, str) else None
