"""Download candle history into the store: paged, resumable, repairing its gaps.

The store is the checkpoint. A download asks only for what is missing in the range:
bars before the first stored one, gaps between stored ones, and bars after the last
one. Bars are written every few thousand rows (and when the download stops for any
reason: done, cancelled, an error, the task cancelled), so an interrupted download
resumes from the last stored bar.

A gap is asked for once more after the main pass. When a request that starts at a gap
finds no bar before the next stored one, the venue has no data there (an outage, a
quiet market that prints no empty bars): the range is recorded in the store and not
asked for again unless ``recheck`` says so. A range at the end, after the last bar the
venue has, is never recorded: new bars may still come.

Bars still open (``ts + step > now``) are never stored, and bars that fail the store's
checks (``high < low``, NaN) are dropped, counted and logged; they show as gaps.
The venue side is a ``CandleSource`` (``venues.ccxt_cex.history`` for ccxt), which does
the rate limiting and the retries with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from task_station.domain.clock import Clock, datetime_to_ms
from task_station.marketdata.store import Gap, MarketStore, Range, timeframe_ms
from task_station.marketdata.store import candles as cnd
from task_station.marketdata.store.series import normalize, subtract

log = logging.getLogger(__name__)

#: ``progress(done, total)`` in bars, called after every page.
ProgressCallback = Callable[[int, int], None]
Row = Sequence[float | int | None]


class CancelFlag(Protocol):
    """``asyncio.Event`` or ``threading.Event``: set it to stop a download cleanly."""

    def is_set(self) -> bool: ...


class CandleSource(Protocol):
    """One venue's OHLCV pages (implemented by ``venues.ccxt_cex.history``)."""

    @property
    def venue(self) -> str: ...

    @property
    def page_limit(self) -> int: ...

    async def prepare(self, symbol: str, timeframe: str) -> None:
        """Load markets; refuse an unknown symbol or timeframe with a clear error."""

    async def fetch_candles(
        self, symbol: str, timeframe: str, since_ms: int, limit: int
    ) -> Sequence[Row]:
        """Up to ``limit`` rows ``[ts, open, high, low, close, volume]`` from ``since_ms``."""

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What one download did. ``no_data`` are the ranges newly recorded as empty at the
    venue; ``gaps`` are those still missing in the range afterwards."""

    venue: str
    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int
    bars_written: int
    requests: int
    rejected_bars: int
    no_data: tuple[Range, ...]
    gaps: tuple[Gap, ...]
    cancelled: bool = False

    @property
    def complete(self) -> bool:
        """Every bar of the range is stored or known not to exist at the venue."""
        return not self.cancelled and all(g.confirmed for g in self.gaps)


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    stop: int
    bounded: bool  # the venue has data after it, so an empty answer means "none here"


class _Cancelled(Exception):
    pass


@dataclass
class _Run:
    """The state of one download: its buffer, counters and progress."""

    store: MarketStore
    source: CandleSource
    symbol: str
    timeframe: str
    now_ms: int
    progress: ProgressCallback | None
    cancel: CancelFlag | None
    flush_rows: int
    flush_seconds: float
    step: int = 0
    phase: int | None = None
    buffer: list[cnd.Columns] = field(default_factory=list)
    buffered: int = 0
    written: int = 0
    requests: int = 0
    rejected: set[int] = field(default_factory=set)  # open times of dropped bars
    no_data: list[Range] = field(default_factory=list)
    attempted: set[tuple[int, int]] = field(default_factory=set)
    done: int = 0
    total: int = 0
    last_flush: float = field(default_factory=time.monotonic)

    def tick(self, fetched: int, missing: int = 0) -> None:
        """Count bars fetched; bars the venue turned out not to have leave the total."""
        self.total = max(self.done + fetched, self.total - missing)
        self.done += fetched
        if self.progress is not None:
            self.progress(self.done, self.total)

    async def fill(self, span: _Span) -> None:
        """Page through ``span`` (``since``/``limit`` loops) into the buffer."""
        self.attempted.add((span.start, span.stop))
        cursor = span.start
        while cursor < span.stop:
            if self.cancel is not None and self.cancel.is_set():
                raise _Cancelled
            limit = min(self.source.page_limit, -(-(span.stop - cursor) // self.step))
            rows = await self.source.fetch_candles(self.symbol, self.timeframe, cursor, limit)
            self.requests += 1
            page = self.clean(rows)
            ts = page["ts"]
            inside = (ts >= cursor) & (ts < span.stop)
            if not inside.any():
                if span.bounded or bool((ts >= span.stop).any()):
                    self.no_data.append((cursor, span.stop))
                self.tick(0, -(-(span.stop - cursor) // self.step))
                return
            page = cnd.take(page, inside)
            first, last = int(page["ts"][0]), int(page["ts"][-1])
            if first > cursor:  # the venue was asked from cursor and skipped to first
                self.no_data.append((cursor, first))
            self.buffer.append(page)
            fetched = len(page["ts"])
            self.buffered += fetched
            self.tick(fetched, (last + self.step - cursor) // self.step - fetched)
            cursor = last + self.step
            await self.maybe_flush()

    def clean(self, rows: Sequence[Row]) -> cnd.Columns:
        """The page's closed, sound, on-grid bars, sorted and unique."""
        if not rows:
            return cnd.empty()
        table = np.asarray([list(r[:6]) for r in rows], dtype=np.float64)
        table = table[np.isfinite(table[:, 0])]
        cols: cnd.Columns = {"ts": table[:, 0].astype(np.int64)}
        cols.update({name: table[:, i + 1] for i, name in enumerate(cnd.COLUMNS[1:])})
        closed = cols["ts"] + self.step <= self.now_ms
        if self.phase is None and len(cols["ts"]):
            self.phase = int(cols["ts"][0] % self.step)
        ok = cnd.sound_rows(cols) & (cols["ts"] % self.step == self.phase)
        bad = set(cols["ts"][closed & ~ok].tolist()) - self.rejected
        if bad:
            self.rejected |= bad
            log.warning("%s %s %s: dropped %d invalid bar(s) from the venue",
                        self.source.venue, self.symbol, self.timeframe, len(bad))  # fmt: skip
        return cnd.unique_sorted(cnd.take(cols, closed & ok))

    async def maybe_flush(self) -> None:
        due = time.monotonic() - self.last_flush >= self.flush_seconds
        if self.buffered >= self.flush_rows or (due and self.buffered):
            batch = self.take_buffer()
            await asyncio.to_thread(self.write, batch)

    def take_buffer(self) -> cnd.Columns:
        merged = cnd.unique_sorted(cnd.concat(self.buffer))
        self.buffer, self.buffered = [], 0
        self.last_flush = time.monotonic()
        return merged

    def write(self, batch: cnd.Columns) -> None:
        if len(batch["ts"]):
            self.store.write_candles(self.source.venue, self.symbol, self.timeframe, batch)
            self.written += len(batch["ts"])

    def flush_now(self) -> None:
        """Write what is buffered and the ranges found empty (synchronous: it runs when
        the download stops for any reason, task cancellation included)."""
        self.write(self.take_buffer())
        if self.no_data:
            self.store.record_no_data(
                self.source.venue, self.symbol, self.timeframe, normalize(self.no_data)
            )


def plan(
    ts: np.ndarray, start: int, end: int, step: int, skip: list[Range], *, gaps: bool
) -> list[_Span]:
    """What to ask for in ``[start, end)`` given the stored bars ``ts`` there."""
    spans: list[_Span] = []
    if start >= end:
        return spans
    if not len(ts):
        spans.append(_Span(start, end, False))
    else:
        if start < ts[0]:
            spans.append(_Span(start, int(ts[0]), True))
        if gaps:
            for i in np.flatnonzero(np.diff(ts) > step):
                spans.append(_Span(int(ts[i]) + step, int(ts[i + 1]), True))
        if int(ts[-1]) + step < end:
            spans.append(_Span(int(ts[-1]) + step, end, False))
    out: list[_Span] = []
    for span in spans:
        pieces = subtract(span.start, span.stop, skip)
        for lo, hi in pieces:
            # a piece that ends where a known-empty range starts is followed by data
            out.append(_Span(lo, hi, span.bounded or hi < span.stop))
    return out


class HistoryDownloader:
    """Fills the store from a ``CandleSource``."""

    def __init__(
        self,
        store: MarketStore,
        clock: Clock,
        *,
        flush_rows: int = 20_000,
        flush_seconds: float = 2.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._flush_rows = flush_rows
        self._flush_seconds = flush_seconds

    async def download(
        self,
        source: CandleSource,
        symbol: str,
        timeframe: str,
        since_ms: int,
        until_ms: int | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
        repair: bool = True,
        recheck: bool = False,
    ) -> DownloadResult:
        """Store every closed bar of ``[since_ms, until_ms)`` (until now when None).

        ``repair`` also fills gaps between stored bars; ``recheck`` asks again for
        ranges recorded as empty. Raises the source's errors (``VenueError`` once its
        retries are spent) after saving what was fetched.
        """
        step = timeframe_ms(timeframe)
        now = datetime_to_ms(self._clock.now())
        end = now if until_ms is None else min(until_ms, now)
        venue = source.venue
        await source.prepare(symbol, timeframe)
        run = _Run(self._store, source, symbol, timeframe, now, progress, cancel,
                   self._flush_rows, self._flush_seconds, step)  # fmt: skip
        run.phase = self._store.grid_phase(venue, symbol, timeframe)
        start = _align_up(since_ms, step, run.phase or 0)
        cancelled = False
        try:
            await self._passes(run, start, end, repair=repair, recheck=recheck)
        except _Cancelled:
            cancelled = True
        finally:
            run.flush_now()
        gaps = self._store.gaps(venue, symbol, timeframe, start, end)
        log.info("%s %s %s: %d bars written in %d requests%s", venue, symbol, timeframe,
                 run.written, run.requests, " (cancelled)" if cancelled else "")  # fmt: skip
        return DownloadResult(venue, symbol, timeframe, start, end, run.written, run.requests,
                              len(run.rejected), tuple(normalize(run.no_data)), tuple(gaps),
                              cancelled)  # fmt: skip

    async def _passes(
        self, run: _Run, start: int, end: int, *, repair: bool, recheck: bool
    ) -> None:
        venue, symbol, timeframe = run.source.venue, run.symbol, run.timeframe
        skip = [] if recheck else self._store.no_data_ranges(venue, symbol, timeframe)
        stored = self._store.candle_times(venue, symbol, timeframe, start, end)
        spans = plan(stored, start, end, run.step, skip, gaps=repair)
        run.total = sum(-(-(s.stop - s.start) // run.step) for s in spans)
        run.tick(0)
        for span in spans:
            await run.fill(span)
        if not repair:
            return
        run.flush_now()  # the second pass plans from the store
        skip = normalize([*skip, *run.no_data])
        stored = self._store.candle_times(venue, symbol, timeframe, start, end)
        again = [
            s
            for s in plan(stored, start, end, run.step, skip, gaps=True)
            if s.bounded and (s.start, s.stop) not in run.attempted
        ]
        run.total += sum(-(-(s.stop - s.start) // run.step) for s in again)
        for span in again:
            await run.fill(span)


def _align_up(ms: int, step: int, phase: int) -> int:
    """The first bar open time on the grid (``ts % step == phase``) at or after ``ms``."""
    return ms + (phase - ms) % step
