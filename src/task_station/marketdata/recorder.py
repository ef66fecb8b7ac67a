"""Record live market data, and the bots' decisions beside it, into the market store.

``MarketRecorder`` listens to the bus for the markets it is told to record:

* ``TradePrinted`` -> ``MarketStore.write_trades``;
* ``BookUpdated`` -> a snapshot of the top ``book_depth`` levels at most every
  ``book_interval`` seconds of market time per market -> ``write_book_snapshots``;
* closed ``CandleUpdated`` -> ``write_candles`` (per timeframe).

While any market is recorded it also keeps the bots' orders, fills and proposals
(``marketdata.decisions``) with their timestamps, which are on the same market clock.

The bus handlers only append to memory buffers; the disk is written in batches by
``flush``, which runs in a worker thread every ``flush_interval`` seconds, early when
the buffers grow large, and at ``stop``. A recorder never blocks or breaks the engine:
a failed write is logged and counted (a batch the store refuses is dropped, one that
hit an I/O error is tried again at the next flush), and past ``max_pending`` buffered
rows new events are dropped and counted instead of growing memory without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

import numpy as np

from task_station.domain.clock import datetime_to_ms
from task_station.domain.errors import DataError, ValidationError
from task_station.domain.events import Event
from task_station.domain.market_feed import BookUpdated, CandleUpdated, TradePrinted
from task_station.marketdata.decisions import DECISION_EVENTS, DecisionLog, decision_record
from task_station.marketdata.store import MarketStore, check_series
from task_station.marketdata.store import candles as cnd

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
MarketKey = tuple[str, str]  # (venue, venue-local symbol)
CandleKey = tuple[str, str, str]  # (venue, symbol, timeframe)


class EventSource(Protocol):
    """What the recorder needs of the engine's bus."""

    def subscribe(
        self, event_type: type[E], handler: Callable[[E], None]
    ) -> Callable[[], None]: ...


@dataclass(frozen=True, slots=True)
class RecordingSpec:
    """What to record of one market (``venue`` and its local ``symbol``)."""

    venue: str
    symbol: str
    trades: bool = True
    books: bool = True
    candles: bool = True
    book_depth: int = 10
    book_interval: float = 1.0  # seconds of market time between two book snapshots

    def __post_init__(self) -> None:
        check_series(self.venue, self.symbol)
        if not 1 <= self.book_depth <= 1000:
            raise ValidationError(f"book depth must be 1 to 1000 levels, got {self.book_depth}")
        if not 0 <= self.book_interval <= 3600:
            raise ValidationError(
                f"book interval must be 0 to 3600 seconds, got {self.book_interval}"
            )
        if not (self.trades or self.books or self.candles):
            raise ValidationError("record at least one of trades, books and candles")


@dataclass(slots=True)
class MarketCounts:
    """Rows taken from the bus for one market (written at the next flush)."""

    trades: int = 0
    book_snapshots: int = 0
    candles: int = 0


@dataclass(frozen=True, slots=True)
class RecorderStats:
    written: int  # rows stored so far (trades, book levels, candles, decisions)
    pending: int  # rows buffered, waiting for the next flush
    dropped: int  # rows lost: the buffers were full, or the store refused a batch
    errors: int  # failed writes
    flushes: int
    last_error: str | None


@dataclass(slots=True)
class _Buffers:
    trades: dict[MarketKey, list[tuple[int, float, float, str, str]]] = field(default_factory=dict)
    books: dict[MarketKey, list[tuple[int, str, int, float, float]]] = field(default_factory=dict)
    candles: dict[CandleKey, list[tuple[int, float, float, float, float, float]]] = field(
        default_factory=dict
    )
    decisions: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0


@dataclass(frozen=True, slots=True)
class _Part:
    what: str
    rows: int
    write: Callable[[], object]
    keep: Callable[[], None]  # put it in the retry batch


@dataclass(slots=True)
class _Outcome:
    written: int = 0
    dropped: int = 0
    errors: list[str] = field(default_factory=list)
    retry: _Buffers = field(default_factory=_Buffers)

    def failed(self, message: str) -> None:
        self.errors.append(message)
        log.error("market recorder could not write %s", message)


class MarketRecorder:
    """Bus events of the recorded markets -> batched writes to ``store`` (see the module)."""

    def __init__(
        self,
        store: MarketStore,
        events: EventSource,
        *,
        flush_interval: float = 2.0,
        flush_rows: int = 50_000,
        max_pending: int = 500_000,
        decisions: bool = True,
    ) -> None:
        self.store = store
        self.decisions = DecisionLog(store.root)
        self._events = events
        self._flush_interval = flush_interval
        self._flush_rows = flush_rows
        self._max_pending = max_pending
        self._record_decisions = decisions
        self._specs: dict[MarketKey, RecordingSpec] = {}
        self.counts: dict[MarketKey, MarketCounts] = {}
        self._last_book: dict[MarketKey, int] = {}
        self._buffers = _Buffers()
        self._unsubscribers: list[Callable[[], None]] = []
        self._timer: asyncio.Task[None] | None = None
        self._flushing: asyncio.Task[int] | None = None
        self._flush_lock = asyncio.Lock()
        self._written = self._dropped = self._errors = self._flushes = 0
        self._last_error: str | None = None

    # -- what is recorded -------------------------------------------------------------

    def record(self, spec: RecordingSpec) -> None:
        """Record ``spec``'s market from now on (replacing its previous spec)."""
        key = (spec.venue, spec.symbol)
        self._specs[key] = spec
        self.counts.setdefault(key, MarketCounts())
        self._attach()

    def forget(self, venue: str, symbol: str) -> RecordingSpec | None:
        """Stop recording a market (what it buffered is still written)."""
        spec = self._specs.pop((venue, symbol), None)
        self._last_book.pop((venue, symbol), None)
        return spec

    def spec(self, venue: str, symbol: str) -> RecordingSpec | None:
        return self._specs.get((venue, symbol))

    def recording(self) -> list[RecordingSpec]:
        return list(self._specs.values())

    @property
    def stats(self) -> RecorderStats:
        return RecorderStats(
            self._written, self._buffers.rows, self._dropped, self._errors,
            self._flushes, self._last_error,
        )  # fmt: skip

    # -- lifecycle --------------------------------------------------------------------

    def _attach(self) -> None:
        if self._unsubscribers:
            return
        subscribe = self._events.subscribe
        self._unsubscribers = [
            subscribe(TradePrinted, self._on_trade),
            subscribe(BookUpdated, self._on_book),
            subscribe(CandleUpdated, self._on_candle),
        ]
        if self._record_decisions:
            for event_type in DECISION_EVENTS:
                self._unsubscribers.append(subscribe(event_type, self._on_decision))
        self._start_timer()

    def _start_timer(self) -> None:
        if self._timer is not None and not self._timer.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop yet: the first event or ``stop`` flushes
            return
        self._timer = loop.create_task(self._flush_every(), name="market-recorder")

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            try:
                await self.flush()
            except Exception:  # a bug here must not end the recording
                log.exception("market recorder: flush failed")
                self._errors += 1

    async def stop(self) -> None:
        """Stop listening and write everything buffered."""
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers = []
        self._specs.clear()
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        await self.flush()

    async def detach_if_idle(self) -> None:
        """Stop listening (after a last flush) once no market is recorded any more."""
        if not self._specs and self._unsubscribers:
            await self.stop()

    # -- bus handlers (never block, never raise) ------------------------------------

    def _room(self, rows: int) -> bool:
        if self._buffers.rows + rows > self._max_pending:
            if self._dropped == 0 or self._dropped % 10_000 == 0:
                log.warning("market recorder: %d rows waiting for the disk; dropping new ones",
                            self._buffers.rows)  # fmt: skip
            self._dropped += rows
            return False
        self._buffers.rows += rows
        if self._timer is None:
            self._start_timer()  # recording began before the loop ran
        if self._buffers.rows >= self._flush_rows:
            self._flush_soon()
        return True

    def _on_trade(self, event: TradePrinted) -> None:
        key = (event.venue, event.symbol)
        spec = self._specs.get(key)
        if spec is None or not spec.trades:
            return
        if event.price <= 0 or event.amount <= 0:
            self._dropped += 1
            return
        if not self._room(1):
            return
        side = event.side.value if event.side is not None else ""
        row = (datetime_to_ms(event.ts), float(event.price), float(event.amount), side,
               event.trade_id)  # fmt: skip
        self._buffers.trades.setdefault(key, []).append(row)
        self.counts[key].trades += 1

    def _on_book(self, event: BookUpdated) -> None:
        key = (event.venue, event.symbol)
        spec = self._specs.get(key)
        if spec is None or not spec.books:
            return
        ts = datetime_to_ms(event.ts)
        last = self._last_book.get(key)
        if last is not None and ts - last < spec.book_interval * 1000:
            return
        rows = [
            (ts, side, level, float(price), float(amount))
            for side, levels in (("bid", event.bids), ("ask", event.asks))
            for level, (price, amount) in enumerate(levels[: spec.book_depth])
            if price > 0 and amount >= 0
        ]
        if not rows or not self._room(len(rows)):
            return
        self._last_book[key] = ts
        self._buffers.books.setdefault(key, []).extend(rows)
        self.counts[key].book_snapshots += 1

    def _on_candle(self, event: CandleUpdated) -> None:
        key = (event.venue, event.symbol)
        spec = self._specs.get(key)
        if spec is None or not spec.candles or not event.closed or not self._room(1):
            return
        c = event.candle
        row = (datetime_to_ms(c.ts), float(c.open), float(c.high), float(c.low),
               float(c.close), float(c.volume))  # fmt: skip
        self._buffers.candles.setdefault((*key, event.timeframe), []).append(row)
        self.counts[key].candles += 1

    def _on_decision(self, event: Event) -> None:
        if not self._specs:
            return
        try:
            record = decision_record(event)
        except Exception:  # a malformed event must not reach the publisher
            log.exception("market recorder: cannot record %s", type(event).__name__)
            self._errors += 1
            return
        if record is not None and self._room(1):
            self._buffers.decisions.append(record)

    # -- writing ----------------------------------------------------------------------

    def _flush_soon(self) -> None:
        if self._flushing is not None and not self._flushing.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._flushing = loop.create_task(self.flush())

    async def flush(self) -> int:
        """Write what is buffered (in a worker thread); returns the rows written.

        Flushes run one at a time, in order, so a later batch is never overwritten by
        an earlier one."""
        async with self._flush_lock:
            batch, self._buffers = self._buffers, _Buffers()
            if not batch.rows:
                return 0
            outcome = await asyncio.to_thread(self._write, batch)
            self._written += outcome.written
            self._dropped += outcome.dropped
            self._errors += len(outcome.errors)
            self._flushes += 1
            if outcome.errors:
                self._last_error = outcome.errors[-1]
            if outcome.retry.rows:
                self._requeue(outcome.retry)
            return outcome.written

    def _requeue(self, batch: _Buffers) -> None:
        """Put a batch that hit an I/O error back in front, if there is room."""
        if self._buffers.rows + batch.rows > self._max_pending:
            self._dropped += batch.rows
            return
        for key, rows in batch.trades.items():
            self._buffers.trades[key] = rows + self._buffers.trades.get(key, [])
        for key, levels in batch.books.items():
            self._buffers.books[key] = levels + self._buffers.books.get(key, [])
        for ckey, bars in batch.candles.items():
            self._buffers.candles[ckey] = bars + self._buffers.candles.get(ckey, [])
        self._buffers.decisions = batch.decisions + self._buffers.decisions
        self._buffers.rows += batch.rows

    def _parts(self, batch: _Buffers, retry: _Buffers) -> list[_Part]:
        """One write per series; ``keep`` puts the part in ``retry``."""
        parts: list[_Part] = []
        write: Callable[[], object]
        for key, trades in batch.trades.items():
            what = f"trades of {key[0]}:{key[1]}"
            write = partial(self._write_trades, key, trades)
            parts.append(
                _Part(what, len(trades), write, partial(retry.trades.__setitem__, key, trades))
            )
        for key, levels in batch.books.items():
            what = f"book snapshots of {key[0]}:{key[1]}"
            write = partial(self._write_books, key, levels)
            parts.append(
                _Part(what, len(levels), write, partial(retry.books.__setitem__, key, levels))
            )
        for ckey, bars in batch.candles.items():
            what = f"{ckey[2]} candles of {ckey[0]}:{ckey[1]}"
            write = partial(self._write_candles, ckey, bars)
            parts.append(
                _Part(what, len(bars), write, partial(retry.candles.__setitem__, ckey, bars))
            )
        if batch.decisions:
            write = partial(self.decisions.append, batch.decisions)
            keep = partial(retry.decisions.extend, batch.decisions)
            parts.append(_Part("bot decisions", len(batch.decisions), write, keep))
        return parts

    def _write(self, batch: _Buffers) -> _Outcome:
        """Write every part of ``batch`` (in a worker thread: touches no counters)."""
        outcome = _Outcome()
        for part in self._parts(batch, outcome.retry):
            try:
                part.write()
            except DataError as exc:  # the store refused the batch: retrying cannot help
                outcome.failed(f"{part.what}: {exc}")
                outcome.dropped += part.rows
            except Exception as exc:  # a full disk, a permission: try again next flush
                outcome.failed(f"{part.what}: {type(exc).__name__}: {exc}")
                part.keep()
                outcome.retry.rows += part.rows
            else:
                outcome.written += part.rows
        return outcome

    def _write_trades(self, key: MarketKey, rows: list[tuple[int, float, float, str, str]]) -> None:
        ts, price, amount, side, ids = zip(*rows, strict=True)
        data = {"ts": list(ts), "price": list(price), "amount": list(amount),
                "side": list(side), "id": list(ids)}  # fmt: skip
        self.store.write_trades(key[0], key[1], data)

    def _write_books(self, key: MarketKey, rows: list[tuple[int, str, int, float, float]]) -> None:
        ts, side, level, price, amount = zip(*rows, strict=True)
        data = {"ts": list(ts), "side": list(side), "level": list(level),
                "price": list(price), "amount": list(amount)}  # fmt: skip
        self.store.write_book_snapshots(key[0], key[1], data)

    def _write_candles(
        self, key: CandleKey, rows: list[tuple[int, float, float, float, float, float]]
    ) -> None:
        table = np.array(rows, dtype=np.float64)
        cols: cnd.Columns = {"ts": np.array([r[0] for r in rows], dtype=np.int64)}
        for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
            cols[name] = table[:, i]
        self.store.write_candles(key[0], key[1], key[2], cnd.unique_sorted(cols))
