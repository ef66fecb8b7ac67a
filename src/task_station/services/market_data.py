"""Stored market data: download, import, record, list, read and replay.

The one API that the CLI (``task-station data``), the GUI's Market dock and the REST API
(``/market/data``, ``/market/recordings``, ``/market/replays``) use for the market
store. Venues are named as in the store: a ccxt exchange id (``binance``) or a
configured venue (``simulator``); the source factory (``venues.ccxt_cex.history``) is
passed in, so this module never imports ccxt.

Recording and replay need the engine's bus (``bus``); the CLI builds the service
without one and only downloads, imports and lists. Everyone may read; changing what
is stored, recorded or replayed needs the trader role (``download``, ``import_file``
and ``read`` are the station's own calls, made by the CLI for its local user).

A market being recorded cannot be replayed at the same time (and the other way round):
the recorder cannot tell replayed events from live ones.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from task_station.domain.bar_columns import BarColumns
from task_station.domain.clock import Clock, datetime_to_ms
from task_station.domain.errors import ConfigurationError, ConflictError, ValidationError
from task_station.domain.events import Event
from task_station.domain.market_data_events import DownloadState, MarketRecordingChanged
from task_station.domain.symbols import MarketSymbol
from task_station.engine.bus import EventBus
from task_station.engine.market_replay import MarketReplay, ReplayMarket, StepUnit
from task_station.marketdata.history import (
    CancelFlag,
    CandleSource,
    DownloadResult,
    HistoryDownloader,
    ProgressCallback,
)
from task_station.marketdata.importer import ImportResult, import_candles
from task_station.marketdata.recorder import MarketRecorder, RecorderStats, RecordingSpec
from task_station.marketdata.store import Gap, MarketStore, StoredSeries, check_series
from task_station.services.market_downloads import DownloadJob, DownloadJobs, new_download_id
from task_station.services.market_replays import ReplayHandle, Replays, new_replay_id
from task_station.services.principal import Principal

__all__ = [
    "CandleSourceFactory",
    "DownloadJob",
    "LazySources",
    "MarketDataService",
    "RecordingView",
    "ReplayHandle",
]


class CandleSourceFactory(Protocol):
    """Implemented by ``venues.ccxt_cex.history.CcxtHistorySources``."""

    def open(self, venue: str) -> CandleSource: ...

    def configured_venues(self) -> builtins.list[str]: ...


class LazySources:
    """A source factory built on first use: ``task-station data list`` never loads ccxt."""

    def __init__(self, build: Callable[[], CandleSourceFactory]) -> None:
        self._build = build
        self._built: CandleSourceFactory | None = None

    def _sources(self) -> CandleSourceFactory:
        if self._built is None:
            self._built = self._build()
        return self._built

    def open(self, venue: str) -> CandleSource:
        return self._sources().open(venue)

    def configured_venues(self) -> builtins.list[str]:
        return self._sources().configured_venues()


def _ms(when: datetime | None, name: str) -> int | None:
    if when is None:
        return None
    if when.tzinfo is None:
        raise ValidationError(f"{name} needs a time zone (e.g. UTC): {when.isoformat()}")
    return datetime_to_ms(when)


def _market(text: str) -> MarketSymbol:
    """``venue:BASE/QUOTE`` checked as the store names it."""
    market = MarketSymbol.parse(text)
    check_series(market.venue, market.pair)
    return market


@dataclass(frozen=True, slots=True)
class RecordingView:
    """A market being recorded, and how much of it was taken from the bus so far."""

    market: str
    venue: str
    symbol: str
    trades: bool
    books: bool
    candles: bool
    book_depth: int
    book_interval: float
    trades_recorded: int
    book_snapshots: int
    candles_recorded: int


class MarketDataService:
    """Downloads, imports, recordings, replays, inventory and reads of the market store."""

    def __init__(
        self,
        store: MarketStore,
        sources: CandleSourceFactory,
        clock: Clock,
        *,
        downloader: HistoryDownloader | None = None,
        bus: EventBus | None = None,
        recorder: MarketRecorder | None = None,
    ) -> None:
        self.store = store
        self._sources = sources
        self._clock = clock
        self._downloader = downloader or HistoryDownloader(store, clock)
        self._active: set[tuple[str, str, str]] = set()
        self._bus = bus
        self._recorder = recorder or (MarketRecorder(store, bus) if bus is not None else None)
        self._jobs = DownloadJobs(clock, self._publish)
        self._replays = Replays()

    def _publish(self, event: Event) -> None:
        if self._bus is not None:
            self._bus.publish(event)

    def _need_bus(self, what: str) -> EventBus:
        if self._bus is None:
            raise ConfigurationError(f"{what} needs the running station (task-station run/serve)")
        return self._bus

    def venues(self) -> builtins.list[str]:
        """Venues beyond the ccxt exchange ids (e.g. ``simulator``), for pickers."""
        return self._sources.configured_venues()

    async def download(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        since: datetime,
        until: datetime | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
        repair: bool = True,
        recheck: bool = False,
    ) -> DownloadResult:
        """Fetch the closed bars of ``[since, until)`` (until now when None) that the
        store lacks; resumes where the last download stopped.

        ``progress(done, total)`` counts bars; setting ``cancel`` stops after the page in
        flight, keeping everything fetched. ``repair`` fills gaps between stored bars;
        ``recheck`` also asks again for ranges recorded as empty at the venue.
        """
        start, end = self._download_range(venue, symbol, timeframe, since, until)
        key = (venue, symbol, timeframe)
        if key in self._active:
            raise ConflictError(f"{venue} {symbol} {timeframe} is already being downloaded")
        self._active.add(key)
        source = self._sources.open(venue)
        try:
            return await self._downloader.download(
                source, symbol, timeframe, start, end,
                progress=progress, cancel=cancel, repair=repair, recheck=recheck,
            )  # fmt: skip
        finally:
            self._active.discard(key)
            await source.close()

    def _download_range(
        self, venue: str, symbol: str, timeframe: str, since: datetime, until: datetime | None
    ) -> tuple[int, int | None]:
        check_series(venue, symbol, timeframe)
        start = _ms(since, "since")
        end = _ms(until, "until")
        assert start is not None
        if end is not None and end <= start:
            raise ValidationError("the end of the range must come after its start")
        if start > datetime_to_ms(self._clock.now()):
            raise ValidationError("the start of the range is in the future")
        return start, end

    # -- downloads in the background --------------------------------------------------

    def start_download(
        self,
        actor: Principal,
        venue: str,
        symbol: str,
        timeframe: str,
        since: datetime,
        until: datetime | None = None,
        *,
        repair: bool = True,
        progress: ProgressCallback | None = None,
    ) -> DownloadJob:
        """Start ``download`` as a background job (a running event loop is needed) and
        return it at once; follow it with ``downloads()``, ``progress`` or the bus's
        ``MarketDownloadProgressed``/``MarketDownloadChanged``; stop it with
        ``cancel_download``."""
        actor.require_trader("download market data")
        self._download_range(venue, symbol, timeframe, since, until)
        if (venue, symbol, timeframe) in self._active or self._jobs.running(
            venue, symbol, timeframe
        ):
            raise ConflictError(f"{venue} {symbol} {timeframe} is already being downloaded")
        job = DownloadJob(
            id=new_download_id(), venue=venue, symbol=symbol, timeframe=timeframe,
            since=since, until=until, state=DownloadState.RUNNING,
            started_by=actor.username, started_at=self._clock.now(),
        )  # fmt: skip

        async def run(report: ProgressCallback, cancel: CancelFlag) -> DownloadResult:
            return await self.download(venue, symbol, timeframe, since, until,
                                       progress=report, cancel=cancel, repair=repair)  # fmt: skip

        return self._jobs.start(job, run, progress)

    def downloads(self) -> builtins.list[DownloadJob]:
        """Running and recently ended downloads, newest first."""
        return self._jobs.list()

    def download_job(self, download_id: str) -> DownloadJob:
        return self._jobs.get(download_id)

    async def cancel_download(self, actor: Principal, download_id: str) -> DownloadJob:
        """Stop a download after the page in flight; everything fetched stays stored."""
        actor.require_trader("cancel downloads")
        return await self._jobs.cancel(download_id)

    async def import_data(
        self, actor: Principal, path: Path, venue: str, symbol: str, timeframe: str
    ) -> ImportResult:
        """``import_file`` for a face: traders only, read and checked off the loop."""
        actor.require_trader("import market data")
        check_series(venue, symbol, timeframe)
        return await asyncio.to_thread(import_file_checked, self.store, path, venue, symbol,
                                       timeframe)  # fmt: skip

    # -- files and reads --------------------------------------------------------------

    def import_file(self, path: Path, venue: str, symbol: str, timeframe: str) -> ImportResult:
        """Check a CSV or Parquet candle file whole, then merge it into the store."""
        check_series(venue, symbol, timeframe)
        return import_candles(self.store, path, venue, symbol, timeframe)

    def inventory(self, *, with_gaps: bool = True) -> builtins.list[StoredSeries]:
        """Every stored series with its first and last row, row count and gaps."""
        return self.store.inventory(with_gaps=with_gaps)

    def gaps(self, venue: str, symbol: str, timeframe: str) -> builtins.list[Gap]:
        """Runs of missing bars between the stored bars of one series."""
        check_series(venue, symbol, timeframe)
        return self.store.gaps(venue, symbol, timeframe)

    def read(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> BarColumns:
        """Stored bars opening in ``[start, end)`` as columns (exact Decimals on demand)."""
        return self.store.read_candles(
            venue, symbol, timeframe, _ms(start, "start"), _ms(end, "end")
        )

    # -- recording --------------------------------------------------------------------

    def _need_recorder(self) -> MarketRecorder:
        self._need_bus("recording market data")
        assert self._recorder is not None
        return self._recorder

    def start_recording(
        self,
        actor: Principal,
        market: str,
        *,
        trades: bool = True,
        books: bool = True,
        candles: bool = True,
        book_depth: int = 10,
        book_interval: float = 1.0,
    ) -> RecordingView:
        """Record ``market``'s (``venue:BASE/QUOTE``) live trades, book snapshots (top
        ``book_depth`` levels every ``book_interval`` seconds) and closed candles from
        the bus, with the bots' decisions beside them; started again, it takes the new
        settings."""
        actor.require_trader("record market data")
        recorder = self._need_recorder()
        symbol = _market(market)
        for replay in self._replays.live():
            if any(m.name == str(symbol) for m in replay.markets):
                raise ConflictError(
                    f"{symbol} is being replayed (replay {replay.replay_id}); stop the replay "
                    "before recording it, or its replayed data would be recorded as live"
                )
        spec = RecordingSpec(symbol.venue, symbol.pair, trades=trades, books=books,
                             candles=candles, book_depth=book_depth,
                             book_interval=book_interval)  # fmt: skip
        recorder.record(spec)
        self._publish(MarketRecordingChanged(self._clock.now(), str(symbol), True, actor.username))
        return self._view(spec)

    async def stop_recording(self, actor: Principal, market: str) -> RecordingView:
        """Stop recording ``market``; what it buffered is written before this returns."""
        actor.require_trader("stop recording market data")
        recorder = self._need_recorder()
        symbol = _market(market)
        spec = recorder.spec(symbol.venue, symbol.pair)
        if spec is None:
            raise ConflictError(f"{symbol} is not being recorded")
        view = self._view(spec)
        recorder.forget(symbol.venue, symbol.pair)
        await recorder.flush()
        await recorder.detach_if_idle()
        self._publish(MarketRecordingChanged(self._clock.now(), str(symbol), False, actor.username))
        return view

    def recordings(self) -> builtins.list[RecordingView]:
        """The markets being recorded."""
        if self._recorder is None:
            return []
        return [self._view(spec) for spec in self._recorder.recording()]

    def recorder_stats(self) -> RecorderStats | None:
        """Rows written, buffered, dropped and failed writes of the recorder."""
        return None if self._recorder is None else self._recorder.stats

    async def flush_recordings(self) -> int:
        """Write what the recorder holds now (it also does every few seconds)."""
        return 0 if self._recorder is None else await self._recorder.flush()

    def decisions(
        self, bot_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> builtins.list[dict[str, Any]]:
        """A bot's recorded orders, fills and proposals in ``[start, end)``, oldest first."""
        from task_station.marketdata.decisions import DecisionLog

        return DecisionLog(self.store.root).read(bot_id, _ms(start, "start"), _ms(end, "end"))

    def _view(self, spec: RecordingSpec) -> RecordingView:
        counts = None if self._recorder is None else self._recorder.counts.get(
            (spec.venue, spec.symbol)
        )  # fmt: skip
        return RecordingView(
            market=f"{spec.venue}:{spec.symbol}", venue=spec.venue, symbol=spec.symbol,
            trades=spec.trades, books=spec.books, candles=spec.candles,
            book_depth=spec.book_depth, book_interval=spec.book_interval,
            trades_recorded=counts.trades if counts else 0,
            book_snapshots=counts.book_snapshots if counts else 0,
            candles_recorded=counts.candles if counts else 0,
        )  # fmt: skip

    # -- replay -----------------------------------------------------------------------

    def start_replay(
        self,
        actor: Principal,
        markets: Sequence[str],
        *,
        timeframe: str | None = "1m",
        start: datetime | None = None,
        end: datetime | None = None,
        speed: float | None = None,
        paused: bool = False,
        trades: bool = True,
        books: bool = True,
    ) -> ReplayHandle:
        """Replay the stored ``timeframe`` candles (None: none) of ``markets``
        (``venue:BASE/QUOTE``), with their recorded trades and book snapshots when
        ``trades``/``books``, through the bus at ``speed`` x real time (None: as fast as
        possible). Charts, the watchlist and bots fed by ``market:`` data sources take
        it as live data. Needs a running event loop."""
        actor.require_trader("replay market data")
        bus = self._need_bus("replaying market data")
        if isinstance(markets, str):
            markets = [markets]
        wanted = [_market(m) for m in markets]
        recorded = self._recorder.recording() if self._recorder is not None else []
        for symbol in wanted:
            if any((r.venue, r.symbol) == (symbol.venue, symbol.pair) for r in recorded):
                raise ConflictError(
                    f"{symbol} is being recorded; stop recording it before replaying it, "
                    "or the replay would be recorded as live data"
                )
        replay = MarketReplay(
            self.store, bus.publish,
            [ReplayMarket(s.venue, s.pair, timeframe, trades, books) for s in wanted],
            clock=self._clock, start_ms=_ms(start, "start"), end_ms=_ms(end, "end"),
            speed=speed, paused=paused, replay_id=new_replay_id(),
        )  # fmt: skip
        replay_id = self._replays.add(replay, timeframe, actor.username)
        return self._replays.handle(replay_id)

    def replays(self) -> builtins.list[ReplayHandle]:
        """Running, paused and recently ended replays, newest first."""
        return self._replays.handles()

    def replay(self, replay_id: str) -> ReplayHandle:
        return self._replays.handle(replay_id)

    def pause_replay(self, actor: Principal, replay_id: str) -> ReplayHandle:
        actor.require_trader("pause replays")
        self._replays.get(replay_id).pause()
        return self._replays.handle(replay_id)

    def resume_replay(self, actor: Principal, replay_id: str) -> ReplayHandle:
        actor.require_trader("resume replays")
        self._replays.get(replay_id).resume()
        return self._replays.handle(replay_id)

    def step_replay(
        self, actor: Principal, replay_id: str, unit: StepUnit = "event"
    ) -> ReplayHandle:
        """Pause, then publish the next event (or everything up to the next closed bar)."""
        actor.require_trader("step replays")
        self._replays.get(replay_id).step(unit)
        return self._replays.handle(replay_id)

    def seek_replay(self, actor: Principal, replay_id: str, when: datetime) -> ReplayHandle:
        """Move the replay clock to ``when`` (clamped to the replay's range)."""
        actor.require_trader("seek replays")
        at = _ms(when, "when")
        assert at is not None
        self._replays.get(replay_id).seek(at)
        return self._replays.handle(replay_id)

    def set_replay_speed(
        self, actor: Principal, replay_id: str, speed: float | None
    ) -> ReplayHandle:
        """``speed`` x real time from now on (None: as fast as possible)."""
        actor.require_trader("change replay speed")
        self._replays.get(replay_id).set_speed(speed)
        return self._replays.handle(replay_id)

    async def stop_replay(self, actor: Principal, replay_id: str) -> ReplayHandle:
        actor.require_trader("stop replays")
        return await self._replays.stop(replay_id)

    # -- the station closing ----------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop replays and downloads, and write what the recorder holds."""
        await self._replays.shutdown()
        await self._jobs.shutdown()
        if self._recorder is not None:
            await self._recorder.stop()


def import_file_checked(
    store: MarketStore, path: Path, venue: str, symbol: str, timeframe: str
) -> ImportResult:
    """``import_candles`` (in a worker thread for ``import_data``)."""
    return import_candles(store, path, venue, symbol, timeframe)
