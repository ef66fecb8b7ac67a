"""Replay stored market data through the event bus, as a live feed would publish it.

``MarketReplay`` reads candles (and the trades and book snapshots recorded for the same
markets) from the ``MarketStore``, merges every market by time and publishes the very
event classes the live feeds publish: ``CandleUpdated`` (closed bars, at their close
time), ``TradePrinted`` and ``BookUpdated``. Whoever listens to the bus (charts, the
watchlist, bots fed by ``market:`` data sources) cannot tell a replay from live data.

Time: the replay has its own clock (``clock``), the time of the last event published;
each event's ``ts`` is its market time. At speed ``s`` an event ``d`` seconds of market
time after the previous one is published ``d / s`` wall seconds later; speed None
publishes as fast as the consumers take it (handing the loop back every few
milliseconds, so the GUI and the API stay responsive). ``pause``, ``resume``, ``step``
(one event, or up to the next closed bar), ``seek`` (to a market time) and
``set_speed`` work while it runs; each change, and the position a few times a second,
is published as ``ReplayChanged``.

Memory is bounded: the store is read one window of market time at a time (about a
thousand bars, or an hour when trades and books are replayed too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from task_station.domain.clock import Clock, ReplayClock, ms_to_datetime
from task_station.domain.errors import ConflictError, DataError, ValidationError
from task_station.domain.events import Event
from task_station.domain.market_data_events import ReplayChanged, ReplayState
from task_station.domain.market_feed import BookUpdated, CandleUpdated, Publish, TradePrinted
from task_station.domain.orders import OrderSide
from task_station.marketdata.store import MarketStore, check_series, timeframe_ms
from task_station.marketdata.store.paths import SeriesKey, partition_files, period_bounds

log = logging.getLogger(__name__)

#: At speed None the replay hands the loop back at least this often (seconds).
YIELD_EVERY_SECONDS = 0.005
#: Bars of the finest timeframe read from the store at a time.
WINDOW_BARS = 1000
#: Market time read at a time when trades or book snapshots are replayed.
TICK_WINDOW_MS = 3_600_000
#: The fastest finite speed (a factor of real time).
MAX_FACTOR = 1_000_000.0
StepUnit = Literal["event", "bar"]
# Of events at the same millisecond: the bar that closed, then the book, then trades.
_CANDLE, _BOOK, _TRADE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ReplayMarket:
    """One market to replay: candles of ``timeframe`` (None: none), and its recorded
    trades and book snapshots when ``trades``/``books`` (where any are stored)."""

    venue: str
    symbol: str
    timeframe: str | None = None
    trades: bool = True
    books: bool = True

    def __post_init__(self) -> None:
        check_series(self.venue, self.symbol, self.timeframe)

    @property
    def name(self) -> str:
        return f"{self.venue}:{self.symbol}"


def check_speed(speed: float | None) -> float | None:
    """A speed factor (1 = real time) or None for as fast as possible."""
    if speed is None:
        return None
    if not 0 < float(speed) <= MAX_FACTOR:
        raise ValidationError(
            f"replay speed must be above 0 and at most {MAX_FACTOR:g}x (or max), got {speed}"
        )
    return float(speed)


def _price(value: Any) -> Decimal:
    return Decimal(repr(float(value)))


class MarketReplay:
    """Stored data of ``markets`` -> ``publish``, on a replay clock (see the module)."""

    def __init__(
        self,
        store: MarketStore,
        publish: Publish,
        markets: Sequence[ReplayMarket],
        *,
        clock: Clock,
        start_ms: int | None = None,
        end_ms: int | None = None,
        speed: float | None = None,
        paused: bool = False,
        replay_id: str = "replay",
        monotonic: Callable[[], float] = time.monotonic,
        report_every: float = 0.25,
    ) -> None:
        if not markets:
            raise ValidationError("name at least one market to replay")
        self.replay_id = replay_id
        self.markets = tuple(markets)
        self._store = store
        self._publish = publish
        self._station_clock = clock
        self._monotonic = monotonic
        self._report_every = report_every
        self._speed = check_speed(speed)
        first, last = self._bounds()
        self.start_ms = first if start_ms is None else max(first, start_ms)
        self.end_ms = last if end_ms is None else min(last, end_ms)
        if self.end_ms <= self.start_ms:
            raise ValidationError("nothing is stored in the range asked for; widen it")
        steps = [timeframe_ms(m.timeframe) for m in self.markets if m.timeframe]
        ticks = any(m.trades or m.books for m in self.markets)
        self._window_ms = TICK_WINDOW_MS if ticks or not steps else WINDOW_BARS * min(steps)
        self.clock = ReplayClock(ms_to_datetime(self.start_ms))
        self._position_ms = self.start_ms
        self._state = ReplayState.PAUSED if paused else ReplayState.RUNNING
        self._error: str | None = None
        self.published = 0
        self._times: list[int] = []
        self._events: list[Event] = []
        self._index = 0
        self._window_end = self.start_ms
        self._load_window(self.start_ms)
        self._wake = asyncio.Event()
        self._anchor_ms = self.start_ms
        self._anchor_wall = 0.0
        self._reported = 0.0

    # -- reads ------------------------------------------------------------------------

    @property
    def state(self) -> ReplayState:
        return self._state

    @property
    def speed(self) -> float | None:
        return self._speed

    @property
    def position_ms(self) -> int:
        return self._position_ms

    @property
    def error(self) -> str | None:
        return self._error

    def snapshot(self) -> ReplayChanged:
        """The replay's state as the event that announces it."""
        return ReplayChanged(
            ts=self._station_clock.now(), replay_id=self.replay_id, state=self._state,
            position=ms_to_datetime(self._position_ms), start=ms_to_datetime(self.start_ms),
            end=ms_to_datetime(self.end_ms), speed=self._speed, published=self.published,
            error=self._error,
        )  # fmt: skip

    # -- control ----------------------------------------------------------------------

    async def run(self) -> ReplayState:
        """Publish until the end of the range (FINISHED), ``stop`` (STOPPED) or a store
        failure (FAILED, with ``error``). Built ``paused``, it waits for ``resume`` or
        ``step``; the controls work before ``run`` starts as well."""
        self._set_anchor()
        self._announce()
        try:
            await self._loop()
        except Exception as exc:  # a corrupt file: tell the trader, keep the engine
            log.exception("replay %s failed", self.replay_id)
            self._state = ReplayState.FAILED
            self._error = f"reading the stored data failed: {exc}"
        self._announce()
        return self._state

    def pause(self) -> None:
        self._require_live("pause")
        if self._state is ReplayState.RUNNING:
            self._state = ReplayState.PAUSED
            self._changed()

    def resume(self) -> None:
        self._require_live("resume")
        if self._state is ReplayState.PAUSED:
            self._state = ReplayState.RUNNING
            self._changed()

    def stop(self) -> None:
        if not self._state.ended:
            self._state = ReplayState.STOPPED
            self._changed()

    def set_speed(self, speed: float | None) -> None:
        """Change the speed factor (None: as fast as possible) from the current position."""
        self._speed = check_speed(speed)
        self._changed()

    def step(self, unit: StepUnit = "event") -> int:
        """Pause, then publish the next event (``event``) or every event up to and
        including the next closed bar (``bar``); returns how many were published."""
        self._require_live("step")
        if unit not in ("event", "bar"):
            raise ValidationError(f"step by 'event' or 'bar', not {unit!r}")
        self._state = ReplayState.PAUSED
        published = 0
        while self._peek() is not None:
            event = self._emit_next()
            published += 1
            if unit == "event" or isinstance(event, CandleUpdated):
                break
        if self._peek() is None:
            self._state = ReplayState.FINISHED
            self._position_ms = self.end_ms
        self._changed()
        return published

    def seek(self, when_ms: int) -> None:
        """Move the replay clock to ``when_ms`` (within the range): the next event
        published is the first at or after it. Bots never go back in time: a bot fed by
        the replay ignores bars older than those it has seen."""
        self._require_live("seek")
        target = min(max(int(when_ms), self.start_ms), self.end_ms)
        self._load_window(target)
        self._position_ms = target
        self.clock.set_ms(target)
        self._changed()

    # -- internals --------------------------------------------------------------------

    def _require_live(self, what: str) -> None:
        if self._state.ended:
            raise ConflictError(
                f"cannot {what} replay {self.replay_id}: it has {self._state.value}; "
                "start a new replay"
            )

    def _changed(self) -> None:
        self._set_anchor()
        self._wake.set()
        self._announce()

    def _set_anchor(self) -> None:
        self._anchor_ms = self._position_ms
        self._anchor_wall = self._monotonic()

    def _announce(self) -> None:
        self._reported = self._monotonic()
        self._publish(self.snapshot())

    async def _wait(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _loop(self) -> None:
        last_yield = time.perf_counter()
        while not self._state.ended:
            if self._state is ReplayState.PAUSED:
                await self._wait(None)
                last_yield = time.perf_counter()
                continue
            if self._peek() is None:
                self._state = ReplayState.FINISHED
                self._position_ms = self.end_ms
                return
            if self._speed is not None:
                due = self._anchor_wall + (self._times[self._index] - self._anchor_ms) / (
                    1000.0 * self._speed
                )
                delay = due - self._monotonic()
                if delay > 0:
                    await self._wait(delay)
                    last_yield = time.perf_counter()
                    continue
            self._emit_next()
            if self._monotonic() - self._reported >= self._report_every:
                self._announce()
            if time.perf_counter() - last_yield >= YIELD_EVERY_SECONDS:
                await asyncio.sleep(0)
                last_yield = time.perf_counter()

    def _peek(self) -> Event | None:
        while self._index >= len(self._events):
            if self._window_end >= self.end_ms:
                return None
            self._load_window(self._window_end)
        return self._events[self._index]

    def _emit_next(self) -> Event:
        event = self._events[self._index]
        self._position_ms = self._times[self._index]
        self.clock.set_ms(self._position_ms)
        self._index += 1
        self.published += 1
        self._publish(event)
        return event

    def _load_window(self, lo: int) -> None:
        hi = min(lo + self._window_ms, self.end_ms)
        rows: list[tuple[int, int, int, int, Event]] = []
        for n, market in enumerate(self.markets):
            if market.timeframe is not None:
                rows.extend(self._candles(n, market, market.timeframe, lo, hi))
            if market.books:
                rows.extend(self._books(n, market, lo, hi))
            if market.trades:
                rows.extend(self._trades(n, market, lo, hi))
        rows.sort(key=lambda r: r[:4])
        self._times = [r[0] for r in rows]
        self._events = [r[4] for r in rows]
        self._index = 0
        self._window_end = hi

    def _candles(
        self, n: int, market: ReplayMarket, timeframe: str, lo: int, hi: int
    ) -> list[tuple[int, int, int, int, Event]]:
        step = timeframe_ms(timeframe)
        bars = self._store.read_candles(
            market.venue, market.symbol, timeframe, lo - step, hi - step
        )
        out: list[tuple[int, int, int, int, Event]] = []
        for i, opened in enumerate(bars.ts.tolist()):
            closed = int(opened) + step
            event = CandleUpdated(
                ts=ms_to_datetime(closed), venue=market.venue, symbol=market.symbol,
                timeframe=timeframe, candle=bars.candle(i), closed=True,
            )  # fmt: skip
            out.append((closed, _CANDLE, n, i, event))
        return out

    def _trades(
        self, n: int, market: ReplayMarket, lo: int, hi: int
    ) -> list[tuple[int, int, int, int, Event]]:
        frame = self._store.read_trades(market.venue, market.symbol, lo, hi)
        out: list[tuple[int, int, int, int, Event]] = []
        columns = (frame[c].tolist() for c in ("ts", "price", "amount", "side", "id"))
        for i, (ts, price, amount, side, trade_id) in enumerate(zip(*columns, strict=True)):
            event = TradePrinted(
                ts=ms_to_datetime(int(ts)), venue=market.venue, symbol=market.symbol,
                trade_id=str(trade_id) or f"{int(ts)}-{i}", price=_price(price),
                amount=_price(amount), side=OrderSide(side) if side else None,
            )  # fmt: skip
            out.append((int(ts), _TRADE, n, i, event))
        return out

    def _books(
        self, n: int, market: ReplayMarket, lo: int, hi: int
    ) -> list[tuple[int, int, int, int, Event]]:
        frame = self._store.read_book_snapshots(market.venue, market.symbol, lo, hi)
        snapshots: dict[int, tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]]
        snapshots = {}
        columns = (frame[c].tolist() for c in ("ts", "side", "price", "amount"))
        for ts, side, price, amount in zip(*columns, strict=True):  # sorted by ts, side, level
            bids, asks = snapshots.setdefault(int(ts), ([], []))
            (bids if side == "bid" else asks).append((_price(price), _price(amount)))
        return [
            (ts, _BOOK, n, 0, BookUpdated(
                ts=ms_to_datetime(ts), venue=market.venue, symbol=market.symbol,
                bids=tuple(bids), asks=tuple(asks),
            ))
            for ts, (bids, asks) in snapshots.items()
        ]  # fmt: skip

    def _bounds(self) -> tuple[int, int]:
        """``[first, last]`` event times over every market's stored series."""
        found: list[tuple[int, int]] = []
        for market in self.markets:
            spans = self._spans(market)
            if not spans:
                what = f" {market.timeframe} candles" if market.timeframe else " data"
                raise DataError(
                    f"nothing is stored for {market.name}{what}; download or record it first"
                )
            found.extend(spans)
        return min(a for a, _ in found), max(b for _, b in found)

    def _spans(self, market: ReplayMarket) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        if market.timeframe is not None:
            ts = self._store.candle_times(market.venue, market.symbol, market.timeframe)
            if len(ts):
                step = timeframe_ms(market.timeframe)
                spans.append((int(ts[0]), int(ts[-1]) + step + 1))
        for kind, wanted in (("trades", market.trades), ("books", market.books)):
            if wanted and (span := self._tick_span(kind, market)) is not None:
                spans.append(span)
        return spans

    def _tick_span(self, kind: str, market: ReplayMarket) -> tuple[int, int] | None:
        key = SeriesKey(kind, market.venue, market.symbol)  # type: ignore[arg-type]
        files = partition_files(key.directory(self._store.root))
        if not files:
            return None
        read = self._store.read_trades if kind == "trades" else self._store.read_book_snapshots
        first = read(market.venue, market.symbol, *period_bounds(files[0].stem))["ts"]
        last = read(market.venue, market.symbol, *period_bounds(files[-1].stem))["ts"]
        if not len(first) or not len(last):
            return None
        return int(first.iloc[0]), int(last.iloc[-1]) + 1
