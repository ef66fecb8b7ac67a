"""Public trades and order-book snapshots as frames: columns, checks and merging.

Trades: ``ts`` (int64 ms UTC), ``price``, ``amount`` (float64, base units), ``side``
(``buy``/``sell``: the taker's side, ``""`` when the venue does not say) and ``id`` (the
venue's trade id, ``""`` when it has none). A trade that is stored again replaces the
stored one: by ``id`` where there is one, by all of its fields where there is not.

Book snapshots, one row per level: ``ts``, ``side`` (``bid``/``ask``), ``level`` (0 is
the best price), ``price``, ``amount``. A snapshot stored again at the same ``ts``
replaces the stored snapshot whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from task_station.domain.errors import DataError
from task_station.marketdata.store.candles import EARLIEST_MS

if TYPE_CHECKING:
    import pandas as pd

TRADE_COLUMNS = ("ts", "price", "amount", "side", "id")
BOOK_COLUMNS = ("ts", "side", "level", "price", "amount")
TRADE_SIDES = frozenset({"buy", "sell", ""})
BOOK_SIDES = frozenset({"bid", "ask"})
Level = tuple[Any, Any]


def _frame(data: Any, columns: tuple[str, ...], defaults: dict[str, Any], what: str) -> Any:
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    if "ts" not in frame.columns and "timestamp" in frame.columns:
        frame = frame.rename(columns={"timestamp": "ts"})
    frame = frame.copy()
    for name, value in defaults.items():
        if name not in frame.columns:
            frame[name] = value
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} need columns {', '.join(columns)}; missing {', '.join(missing)}")
    return frame.loc[:, list(columns)].reset_index(drop=True)


def _numbers(frame: Any, names: tuple[str, ...], what: str) -> None:
    import pandas as pd

    for name in names:
        values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{what}: row {row + 1} column {name!r} is not a finite number "
                f"({frame[name].iloc[row]!r})"
            )
        frame[name] = values


def _timestamps(frame: Any, what: str, now_ms: int) -> None:
    _numbers(frame, ("ts",), what)
    ts = frame["ts"].to_numpy()
    if (ts % 1 != 0).any():
        raise DataError(f"{what}: timestamps must be whole milliseconds")
    frame["ts"] = frame["ts"].astype("int64")
    if len(ts) and (ts.min() < EARLIEST_MS or ts.max() > now_ms + 86_400_000):
        raise DataError(
            f"{what}: timestamps must be milliseconds since 1970 between 2000 and now "
            "(multiply seconds by 1000)"
        )


def _row_error(frame: Any, mask: Any, what: str, problem: str) -> None:
    hits = np.flatnonzero(np.asarray(mask))
    if len(hits):
        row = int(hits[0])
        values = ", ".join(f"{k}={v!r}" for k, v in frame.iloc[row].items())
        raise DataError(f"{what}: row {row + 1} ({values}) {problem}")


def trades_frame(data: Any, what: str, now_ms: int) -> pd.DataFrame:
    """Validated trades, sorted by time (stable), duplicates of the batch dropped."""
    frame = _frame(data, TRADE_COLUMNS, {"side": "", "id": ""}, what)
    _timestamps(frame, what, now_ms)
    _numbers(frame, ("price", "amount"), what)
    frame["side"] = frame["side"].fillna("").astype(str).str.lower()
    frame["id"] = frame["id"].fillna("").astype(str)
    _row_error(frame, ~frame["side"].isin(TRADE_SIDES), what, "has a side other than buy/sell")
    _row_error(frame, frame["price"] <= 0, what, "has a price that is not positive")
    _row_error(frame, frame["amount"] <= 0, what, "has an amount that is not positive")
    merged: pd.DataFrame = merge_trades(frame.iloc[:0], frame)
    return merged


def merge_trades(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Stored and new trades; a trade in both is kept once, as the new one has it."""
    import pandas as pd

    both = pd.concat([old, new], ignore_index=True)
    has_id = both["id"] != ""
    with_id = both[has_id].drop_duplicates(subset=["id"], keep="last")
    without = both[~has_id].drop_duplicates(subset=["ts", "price", "amount", "side"], keep="last")
    merged = pd.concat([with_id, without]).sort_index(kind="stable")
    return merged.sort_values("ts", kind="stable").reset_index(drop=True)


def books_frame(data: Any, what: str, now_ms: int) -> pd.DataFrame:
    """Validated book levels sorted by ``ts``, ``side``, ``level``."""
    frame = _frame(data, BOOK_COLUMNS, {}, what)
    _timestamps(frame, what, now_ms)
    _numbers(frame, ("level", "price", "amount"), what)
    frame["side"] = frame["side"].astype(str).str.lower()
    _row_error(frame, ~frame["side"].isin(BOOK_SIDES), what, "has a side other than bid/ask")
    _row_error(frame, frame["level"] % 1 != 0, what, "has a level that is not a whole number")
    _row_error(frame, frame["level"] < 0, what, "has a negative level")
    _row_error(frame, frame["price"] <= 0, what, "has a price that is not positive")
    _row_error(frame, frame["amount"] < 0, what, "has a negative amount")
    frame["level"] = frame["level"].astype("int32")
    dup = frame.duplicated(subset=["ts", "side", "level"], keep=False)
    _row_error(frame, dup, what, "repeats a (ts, side, level) of the same batch")
    ordered: pd.DataFrame = frame.sort_values(["ts", "side", "level"], kind="stable")
    return ordered.reset_index(drop=True)


def merge_books(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Stored and new snapshots; a snapshot time in ``new`` replaces the stored one."""
    import pandas as pd

    kept = old[~old["ts"].isin(new["ts"].unique())]
    both = pd.concat([kept, new], ignore_index=True)
    return both.sort_values(["ts", "side", "level"], kind="stable").reset_index(drop=True)


def book_rows(snapshots: Iterable[tuple[int, Sequence[Level], Sequence[Level]]]) -> pd.DataFrame:
    """A book frame from ``(ts_ms, bids, asks)`` snapshots with levels best first.

    Levels are ``(price, amount)`` pairs of ``Decimal``, ``str`` or ``float``; they are
    stored as float64 (the shortest repr gives the printed number back).
    """
    import pandas as pd

    rows: dict[str, list[Any]] = {name: [] for name in BOOK_COLUMNS}
    for ts, bids, asks in snapshots:
        for side, levels in (("bid", bids), ("ask", asks)):
            for level, (price, amount) in enumerate(levels):
                rows["ts"].append(int(ts))
                rows["side"].append(side)
                rows["level"].append(level)
                rows["price"].append(float(price))
                rows["amount"].append(float(amount))
    return pd.DataFrame(rows)
