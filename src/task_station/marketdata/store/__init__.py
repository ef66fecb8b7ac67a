"""The market-data store: candles, trades and order-book snapshots in Parquet files.

Usage::

    store = MarketStore(settings.data_dir / "market")
    store.write_candles("binance", "BTC/USDT", "1m", frame)   # merge, new bars win
    bars = store.read_candles("binance", "BTC/USDT", "1m", start_ms, end_ms)  # BarColumns
    for series in store.inventory():                          # what is stored, with gaps
        print(series.venue, series.symbol, series.timeframe, series.rows, series.gaps)

Public API (``MarketStore(root: Path, *, clock: Clock | None = None)``):

- ``write_candles(venue, symbol, timeframe, data) -> int``: ``data`` is a DataFrame in
  the candle-file layout (``timestamp`` or ``ts`` in int ms UTC, ``open``, ``high``,
  ``low``, ``close``, ``volume``), a ``BarColumns`` or a mapping of arrays.
- ``read_candles(venue, symbol, timeframe, start_ms=None, end_ms=None) -> BarColumns``
  (``ts`` int64 ms + float64 OHLCV, exact ``Decimal`` per cell on demand);
  ``read_candles_frame(...) -> DataFrame``; ``candle_times(...) -> int64 array``.
- ``gaps(venue, symbol, timeframe, start_ms=None, end_ms=None) -> list[Gap]``;
  ``record_no_data(venue, symbol, timeframe, ranges)``, ``no_data_ranges(...)`` and
  ``forget_no_data(...)`` for ranges the venue has no bars in.
- ``write_trades(venue, symbol, data) -> int``, ``read_trades(venue, symbol, start_ms=None,
  end_ms=None) -> DataFrame`` (``ts``, ``price``, ``amount``, ``side``, ``id``).
- ``write_book_snapshots(venue, symbol, data) -> int``, ``read_book_snapshots(...) ->
  DataFrame`` (one row per level: ``ts``, ``side``, ``level``, ``price``, ``amount``;
  ``book_rows`` builds it from ``(ts_ms, bids, asks)`` snapshots).
- ``inventory(*, with_gaps=True) -> list[StoredSeries]``.

Conventions: ``venue`` is the ccxt exchange id (``binance``) or a configured venue
(``simulator``); ``symbol`` is ccxt's unified ``BASE/QUOTE[:SETTLE]``; timestamps are
milliseconds since 1970 UTC (a candle's is its open time); every range is half-open,
``[start_ms, end_ms)``, with None meaning unbounded. A gap is a run of missing bars
between two stored bars (more than one step apart).

Layout: ``<root>/candles/<venue>/<BASE_QUOTE>/<timeframe>/<period>.parquet`` and
``<root>/{trades,books}/<venue>/<BASE_QUOTE>/<YYYY-MM-DD>.parquet``; a candle file holds
a month of bars under one hour, a year of hourly or slower bars (``paths.py``).

Guarantees:

- A write checks the whole batch first; a bad row refuses it with a ``DataError`` that
  names the row, and nothing is written.
- Each file is replaced atomically (temporary file, fsync, ``os.replace``): a process
  killed mid-write leaves the previous file, never a torn one. A batch spanning several
  files writes every temporary before the first rename.
- Writers of one series hold its lock file, so concurrent writers (threads or
  processes) merge instead of overwriting each other.
- Prices are float64 cells, as in ``BarColumns``; ``Decimal(repr(x))`` gives the exact
  printed number back.
"""

from task_station.marketdata.store.market_store import MarketStore
from task_station.marketdata.store.paths import check_series, timeframe_ms
from task_station.marketdata.store.series import Gap, Range, StoredSeries
from task_station.marketdata.store.ticks import BOOK_COLUMNS, TRADE_COLUMNS, book_rows

__all__ = [
    "BOOK_COLUMNS",
    "TRADE_COLUMNS",
    "Gap",
    "MarketStore",
    "Range",
    "StoredSeries",
    "book_rows",
    "check_series",
    "timeframe_ms",
]
