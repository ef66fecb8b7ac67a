"""Trades -> candles for any timeframe, and candles -> candles of a longer timeframe.

Two paths that agree:

* **Vectorized** (history): numpy arrays in, ``CandleArrays`` out, one pass of
  ``reduceat`` per column. Prices and amounts may be float64 (the files' own cells) or
  exact scaled integers (``scaled`` turns a float column into int64 units of
  ``10**-decimals`` and refuses a column that needs more decimals); with integers every
  sum is exact and ``to_candles`` gives the exact Decimals.
* **Incremental** (live): ``CandleBuilder`` takes one trade at a time as ``Decimal`` and
  returns the candle that closed when a trade opens a later bar; ``forming`` is the bar
  still open. ``CandleResampler`` does the same from candles of a shorter timeframe,
  including live candles that are updated several times before they close.

A bar without trades is absent (no forward fill): charts and strategies see what the
market printed. Bars open at ``Timeframe.bucket_ms`` (epoch-aligned, weeks on Monday,
months on the calendar, or on ``anchor_ms``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from task_station.domain.candles import Candle
from task_station.domain.clock import datetime_to_ms, ms_to_datetime
from task_station.domain.errors import DataError
from task_station.domain.money import ZERO, to_decimal
from task_station.domain.timeframes import Timeframe

IntArray = npt.NDArray[np.int64]
NumArray = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class CandleArrays:
    """Bars as columns. ``ts`` is each bar's open time (ms); ``count`` is how many trades
    (or, after ``resample``, how many source bars) made it."""

    ts: IntArray
    open: NumArray
    high: NumArray
    low: NumArray
    close: NumArray
    volume: NumArray
    count: IntArray

    def __len__(self) -> int:
        return len(self.ts)

    def to_candles(
        self, *, price_decimals: int | None = None, amount_decimals: int | None = None
    ) -> list[Candle]:
        """Exact ``Candle`` objects: scaled integers are unscaled exactly; floats become
        the Decimal of their shortest repr (the number the file printed)."""
        price = _decimals_of(price_decimals)
        amount = _decimals_of(amount_decimals)
        return [
            Candle(
                ts=ms_to_datetime(int(self.ts[i])),
                open=price(self.open[i]),
                high=price(self.high[i]),
                low=price(self.low[i]),
                close=price(self.close[i]),
                volume=amount(self.volume[i]),
            )
            for i in range(len(self.ts))
        ]


def _decimals_of(decimals: int | None) -> Any:
    if decimals is None:
        return lambda v: to_decimal(float(v), name="candle value")
    return lambda v: Decimal(int(v)).scaleb(-decimals)


def scaled(values: npt.ArrayLike, decimals: int) -> IntArray:
    """Float values as exact int64 multiples of ``10**-decimals``.

    Refuses a column with a value that is not such a multiple (more decimals than
    ``decimals``) or that would overflow int64.
    """
    array = np.asarray(values, dtype=np.float64)
    factor = 10.0**decimals
    units = np.rint(array * factor)
    if np.any(np.abs(units) >= 2**53):  # beyond this a float has no unit precision
        raise DataError(f"values too large to scale exactly to {decimals} decimals")
    exact = np.abs(array * factor - units) <= np.maximum(1e-6, np.abs(units) * 4e-15)
    if not np.all(exact):
        bad = float(array[np.argmin(exact)])
        raise DataError(f"value {bad!r} has more than {decimals} decimals; raise the scale")
    return units.astype(np.int64)


def bucket_starts(
    ts_ms: npt.ArrayLike, timeframe: Timeframe | str, anchor_ms: int | None = None
) -> IntArray:
    """The open time (ms) of the bar containing each timestamp."""
    tf = Timeframe.parse(timeframe)
    ts = np.asarray(ts_ms, dtype=np.int64)
    if tf.calendar:
        months = ts.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
        months -= months % tf.months
        return months.astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    anchor = tf.default_anchor_ms() if anchor_ms is None else anchor_ms
    result: IntArray = ts - (ts - anchor) % tf.ms
    return result


def _segments(buckets: IntArray) -> tuple[IntArray, IntArray]:
    """Start and end (exclusive) index of each run of equal buckets."""
    n = len(buckets)
    change = np.empty(n, dtype=bool)
    change[:1] = True
    np.not_equal(buckets[1:], buckets[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    return starts.astype(np.int64), ends.astype(np.int64)


def _check_sorted(ts: IntArray, what: str) -> None:
    if len(ts) > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        first = int(np.argmax(ts[1:] < ts[:-1])) + 1
        raise DataError(
            f"{what} must be in time order; row {first} ({int(ts[first])} ms) comes before "
            f"the row above it ({int(ts[first - 1])} ms): sort them (stable) first"
        )


def _empty(dtype: Any) -> CandleArrays:
    e = np.empty(0, dtype=dtype)
    i = np.empty(0, dtype=np.int64)
    return CandleArrays(i, e, e, e, e, e, i)


def aggregate_trades(
    ts_ms: npt.ArrayLike,
    price: npt.ArrayLike,
    amount: npt.ArrayLike,
    timeframe: Timeframe | str,
    *,
    anchor_ms: int | None = None,
) -> CandleArrays:
    """Candles from trades in time order (ties keep their order: first is the open)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    p, a = np.asarray(price), np.asarray(amount)
    if not (len(ts) == len(p) == len(a)):
        raise DataError(f"trade columns differ in length: {len(ts)}, {len(p)}, {len(a)}")
    if len(ts) == 0:
        return _empty(p.dtype)
    _check_sorted(ts, "trades")
    starts, ends = _segments(bucket_starts(ts, timeframe, anchor_ms))
    return CandleArrays(
        ts=bucket_starts(ts[starts], timeframe, anchor_ms),
        open=p[starts],
        high=np.maximum.reduceat(p, starts),
        low=np.minimum.reduceat(p, starts),
        close=p[ends - 1],
        volume=np.add.reduceat(a, starts),
        count=ends - starts,
    )


def resample(
    candles: CandleArrays, timeframe: Timeframe | str, *, anchor_ms: int | None = None
) -> CandleArrays:
    """Candles of a longer ``timeframe`` from shorter ones (``count``: source bars in each).

    Source bars without volume are placeholders an exchange prints at the previous
    close when nothing traded; like the exchange's own longer bars, the result takes
    its open, high, low and close from the bars that traded (a bar where nothing
    traded at all keeps the placeholder's price). A target bar is complete only when
    ``count`` equals the source bars it spans; the first and last are often partial.
    """
    if len(candles) == 0:
        return _empty(candles.open.dtype)
    _check_sorted(candles.ts, "candles")
    starts, ends = _segments(bucket_starts(candles.ts, timeframe, anchor_ms))
    n = len(candles)
    traded = candles.volume > 0
    index = np.arange(n, dtype=np.int64)
    first = np.minimum.reduceat(np.where(traded, index, n), starts)
    first = np.where(first < ends, first, starts)
    last = np.maximum.reduceat(np.where(traded, index, -1), starts)
    last = np.where(last >= starts, last, ends - 1)
    any_traded = np.logical_or.reduceat(traded, starts)
    # per bar: a source bar counts for high/low if it traded, or if none in its bar did
    counts = traded | ~np.repeat(any_traded, ends - starts)
    high = np.maximum.reduceat(np.where(counts, candles.high, candles.low.min()), starts)
    low = np.minimum.reduceat(np.where(counts, candles.low, candles.high.max()), starts)
    return CandleArrays(
        ts=bucket_starts(candles.ts[starts], timeframe, anchor_ms),
        open=candles.open[first],
        high=high,
        low=low,
        close=candles.close[last],
        volume=np.add.reduceat(candles.volume, starts),
        count=ends - starts,
    )


def candle_arrays(candles: Sequence[Candle]) -> CandleArrays:
    """Columns (float64) of a candle list, for the vectorized functions."""
    ts = np.fromiter((datetime_to_ms(c.ts) for c in candles), np.int64, len(candles))

    def col(name: str) -> NumArray:
        return np.fromiter((float(getattr(c, name)) for c in candles), np.float64, len(candles))

    return CandleArrays(
        ts, col("open"), col("high"), col("low"), col("close"), col("volume"),
        np.ones(len(candles), dtype=np.int64),
    )  # fmt: skip


# -- incremental (live) ----------------------------------------------------------


class _Bar:
    __slots__ = ("close", "high", "low", "open", "start", "volume")

    def __init__(self, start: int, price: Decimal, amount: Decimal) -> None:
        self.start = start
        self.open = self.high = self.low = self.close = price
        self.volume = amount

    def add(self, price: Decimal, amount: Decimal) -> None:
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += amount

    def candle(self) -> Candle:
        return Candle(
            ms_to_datetime(self.start), self.open, self.high, self.low, self.close, self.volume
        )


class CandleBuilder:
    """Builds candles from live trades, one at a time (exact Decimals).

    ``add`` returns the bar that a trade closed (the first trade of a later bar closes
    the one before), or None. ``close_until(now_ms)`` closes the forming bar once its
    end has passed without a later trade (call it on a timer). A trade older than the
    forming bar cannot change a closed candle: it is counted in ``late_trades`` and left
    out, so the caller can see that the feed delivered out of order.
    """

    def __init__(self, timeframe: Timeframe | str, *, anchor_ms: int | None = None) -> None:
        self.timeframe = Timeframe.parse(timeframe)
        self.anchor_ms = anchor_ms
        self._bar: _Bar | None = None
        self._closed_until = -(2**62)  # bars opening before this have been emitted
        self.late_trades = 0

    @property
    def forming(self) -> Candle | None:
        """The bar still open, as a candle so far."""
        return None if self._bar is None else self._bar.candle()

    def add(self, ts_ms: int, price: Decimal, amount: Decimal) -> Candle | None:
        if price <= ZERO or amount < ZERO:
            raise DataError(f"trade at {ts_ms} ms has price {price} and amount {amount}")
        start = self.timeframe.bucket_ms(ts_ms, self.anchor_ms)
        bar = self._bar
        if bar is not None and start == bar.start:
            bar.add(price, amount)
            return None
        if start < self._closed_until or (bar is not None and start < bar.start):
            self.late_trades += 1
            return None
        closed = self._close()
        self._bar = _Bar(start, price, amount)
        return closed

    def close_until(self, now_ms: int) -> Candle | None:
        """Close the forming bar if it ended at or before ``now_ms``."""
        bar = self._bar
        if bar is not None and self.timeframe.next_ms(bar.start) <= now_ms:
            return self._close()
        return None

    def _close(self) -> Candle | None:
        bar, self._bar = self._bar, None
        if bar is None:
            return None
        self._closed_until = self.timeframe.next_ms(bar.start)
        return bar.candle()


class CandleResampler:
    """Builds candles of a longer timeframe from live candles of a shorter one.

    A source candle may arrive several times while it forms (same open time, new
    values): the latest version replaces the earlier one, so nothing is counted twice.
    Prices come from the source bars that traded, as in ``resample``.
    """

    def __init__(self, timeframe: Timeframe | str, *, anchor_ms: int | None = None) -> None:
        self.timeframe = Timeframe.parse(timeframe)
        self.anchor_ms = anchor_ms
        self._start: int | None = None
        self._parts: dict[int, Candle] = {}
        self.late_candles = 0

    def add(self, candle: Candle) -> Candle | None:
        """Merge ``candle``; returns the longer bar it closed, if any."""
        ts = datetime_to_ms(candle.ts)
        start = self.timeframe.bucket_ms(ts, self.anchor_ms)
        closed = None
        if self._start is not None and start != self._start:
            if start < self._start:
                self.late_candles += 1
                return None
            closed = self.forming
            self._parts.clear()
        self._start = start
        self._parts[ts] = candle
        return closed

    @property
    def forming(self) -> Candle | None:
        if self._start is None or not self._parts:
            return None
        parts = [self._parts[k] for k in sorted(self._parts)]
        traded = [c for c in parts if c.volume > ZERO] or parts  # see ``resample``
        return Candle(
            ts=ms_to_datetime(self._start),
            open=traded[0].open,
            high=max(c.high for c in traded),
            low=min(c.low for c in traded),
            close=traded[-1].close,
            volume=sum((c.volume for c in parts), ZERO),
        )


def trades_to_candles(
    trades: Iterable[tuple[int, Decimal, Decimal]],
    timeframe: Timeframe | str,
    *,
    anchor_ms: int | None = None,
) -> list[Candle]:
    """Every candle (the last one included, as it stands) from ``(ts_ms, price, amount)``."""
    builder = CandleBuilder(timeframe, anchor_ms=anchor_ms)
    out = [c for t in trades if (c := builder.add(*t)) is not None]
    if builder.late_trades:
        raise DataError(f"{builder.late_trades} trade(s) are out of time order; sort them first")
    last = builder.forming
    return out if last is None else [*out, last]


def resample_candles(
    candles: Iterable[Candle], timeframe: Timeframe | str, *, anchor_ms: int | None = None
) -> list[Candle]:
    """Exact candles of a longer ``timeframe`` (the last one as it stands)."""
    resampler = CandleResampler(timeframe, anchor_ms=anchor_ms)
    out = [c for candle in candles if (c := resampler.add(candle)) is not None]
    if resampler.late_candles:
        raise DataError(f"{resampler.late_candles} candle(s) are out of time order")
    last = resampler.forming
    return out if last is None else [*out, last]
