"""Bodies of the ``/market/data``, ``/market/recordings`` and ``/market/replays`` routes,
and the ``/ws`` messages of the market data events (topic ``market_data``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from task_station.domain.events import Event
from task_station.domain.market_data_events import (
    MarketDownloadChanged,
    MarketDownloadProgressed,
    MarketRecordingChanged,
    ReplayChanged,
)
from task_station.marketdata.importer import ImportResult
from task_station.marketdata.store import Gap, StoredSeries
from task_station.services.market_data import DownloadJob, RecordingView, ReplayHandle

_MARKET = Field(min_length=3, max_length=120, description="venue:BASE/QUOTE, e.g. binance:BTC/USDT")
_SPEED = Field(
    default=None, gt=0, le=1_000_000, description="times real time (1, 10, 100); null: max"
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field must not be ignored


# -- stored data --------------------------------------------------------------------------


class GapOut(BaseModel):
    """Missing bars ``[start, end)``; ``confirmed``: the venue has no data there."""

    start: datetime
    end: datetime
    start_ms: int
    end_ms: int
    missing: int
    confirmed: bool

    @classmethod
    def of(cls, gap: Gap) -> GapOut:
        return cls(start=gap.start, end=gap.end, start_ms=gap.start_ms, end_ms=gap.end_ms,
                   missing=gap.missing, confirmed=gap.confirmed)  # fmt: skip


class StoredSeriesOut(BaseModel):
    """One stored series; ``timeframe`` is null for trades and book snapshots."""

    kind: str
    venue: str
    symbol: str
    timeframe: str | None
    first: datetime
    last: datetime
    rows: int
    files: int
    size_bytes: int
    missing_bars: int
    gaps: list[GapOut]

    @classmethod
    def of(cls, series: StoredSeries) -> StoredSeriesOut:
        return cls(
            kind=series.kind, venue=series.venue, symbol=series.symbol,
            timeframe=series.timeframe, first=series.first, last=series.last,
            rows=series.rows, files=series.files, size_bytes=series.size_bytes,
            missing_bars=series.missing_bars, gaps=[GapOut.of(g) for g in series.gaps],
        )  # fmt: skip


class DownloadIn(_Request):
    """Fetch the closed bars of ``[since, until)`` (until now when null) the store lacks.
    Times need a zone (``2024-01-31T00:00:00Z``)."""

    venue: str = Field(min_length=1, max_length=64, description="a ccxt id or 'simulator'")
    symbol: str = Field(min_length=3, max_length=64, description="e.g. BTC/USDT")
    timeframe: str = Field(min_length=2, max_length=8, description="e.g. 1m, 1h, 1d")
    since: datetime
    until: datetime | None = None
    repair: bool = True


class DownloadOut(BaseModel):
    """A download; ``progress`` is 0..1 (``done`` of about ``total`` bars)."""

    id: str
    venue: str
    symbol: str
    timeframe: str
    since: datetime
    until: datetime | None
    state: str
    done: int
    total: int
    progress: float
    bars_written: int
    gaps: int
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, job: DownloadJob) -> DownloadOut:
        return cls(
            id=job.id, venue=job.venue, symbol=job.symbol, timeframe=job.timeframe,
            since=job.since, until=job.until, state=job.state.value, done=job.done,
            total=job.total, progress=job.progress, bars_written=job.bars_written,
            gaps=job.gaps, started_by=job.started_by, started_at=job.started_at,
            finished_at=job.finished_at, error=job.error,
        )  # fmt: skip


class ImportIn(_Request):
    """A CSV or Parquet candle file on the station's machine, checked whole first."""

    path: str = Field(min_length=1, max_length=4096)
    venue: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=3, max_length=64)
    timeframe: str = Field(min_length=2, max_length=8)


class ImportOut(BaseModel):
    venue: str
    symbol: str
    timeframe: str
    rows: int
    first: datetime
    last: datetime
    replaced: int

    @classmethod
    def of(cls, result: ImportResult) -> ImportOut:
        return cls(venue=result.venue, symbol=result.symbol, timeframe=result.timeframe,
                   rows=result.rows, first=result.first, last=result.last,
                   replaced=result.replaced)  # fmt: skip


# -- recordings -----------------------------------------------------------------------------


class RecordingIn(_Request):
    market: str = _MARKET
    trades: bool = True
    books: bool = True
    candles: bool = True
    book_depth: int = Field(default=10, ge=1, le=1000, description="levels per side kept")
    book_interval: float = Field(
        default=1.0, ge=0, le=3600, description="seconds between two book snapshots"
    )


class RecordingStopIn(_Request):
    market: str = _MARKET


class RecordingOut(BaseModel):
    market: str
    trades: bool
    books: bool
    candles: bool
    book_depth: int
    book_interval: float
    trades_recorded: int
    book_snapshots: int
    candles_recorded: int

    @classmethod
    def of(cls, view: RecordingView) -> RecordingOut:
        return cls(
            market=view.market, trades=view.trades, books=view.books, candles=view.candles,
            book_depth=view.book_depth, book_interval=view.book_interval,
            trades_recorded=view.trades_recorded, book_snapshots=view.book_snapshots,
            candles_recorded=view.candles_recorded,
        )  # fmt: skip


# -- replays --------------------------------------------------------------------------------


class ReplayIn(_Request):
    """Replay stored candles of ``timeframe`` (null: none) of ``markets``, with their
    recorded trades and books, through the event bus."""

    markets: list[str] = Field(min_length=1, max_length=20)
    timeframe: str | None = Field(default="1m", max_length=8)
    start: datetime | None = None
    end: datetime | None = None
    speed: float | None = _SPEED
    paused: bool = False
    trades: bool = True
    books: bool = True


class StepIn(_Request):
    unit: Literal["event", "bar"] = "event"


class SeekIn(_Request):
    to: datetime = Field(description="a market time within the replay's range, with a zone")


class SpeedIn(_Request):
    speed: float | None = _SPEED


class ReplayOut(BaseModel):
    id: str
    markets: list[str]
    timeframe: str | None
    state: str
    position: datetime
    start: datetime
    end: datetime
    speed: float | None
    published: int
    progress: float
    started_by: str
    error: str | None

    @classmethod
    def of(cls, handle: ReplayHandle) -> ReplayOut:
        return cls(
            id=handle.id, markets=list(handle.markets), timeframe=handle.timeframe,
            state=handle.state.value, position=handle.position, start=handle.start,
            end=handle.end, speed=handle.speed, published=handle.published,
            progress=handle.progress, started_by=handle.started_by, error=handle.error,
        )  # fmt: skip


# -- /ws messages -------------------------------------------------------------------------

Message = dict[str, Any]


def _envelope(kind: str, event: Event, data: Message) -> Message:
    return {"type": kind, "ts": event.ts.isoformat(), "data": data}


def _download_progress(event: MarketDownloadProgressed) -> Message:
    data = {"download_id": event.download_id, "venue": event.venue, "symbol": event.symbol,
            "timeframe": event.timeframe, "done": event.done, "total": event.total}  # fmt: skip
    return _envelope("download_progress", event, data)


def _download(event: MarketDownloadChanged) -> Message:
    data = {"download_id": event.download_id, "venue": event.venue, "symbol": event.symbol,
            "timeframe": event.timeframe, "state": event.state.value,
            "bars_written": event.bars_written, "error": event.error}  # fmt: skip
    return _envelope("download", event, data)


def _recording(event: MarketRecordingChanged) -> Message:
    data = {"market": event.market, "recording": event.recording, "actor": event.actor}
    return _envelope("recording", event, data)


def _replay(event: ReplayChanged) -> Message:
    data = {"replay_id": event.replay_id, "state": event.state.value,
            "position": event.position.isoformat(), "start": event.start.isoformat(),
            "end": event.end.isoformat(), "speed": event.speed, "published": event.published,
            "progress": event.progress, "error": event.error}  # fmt: skip
    return _envelope("replay", event, data)


#: event class -> (topic, converter), merged into ``messages.CONVERTERS``.
MARKET_DATA_CONVERTERS: dict[type[Event], tuple[str, Callable[[Any], Message]]] = {
    MarketDownloadProgressed: ("market_data", _download_progress),
    MarketDownloadChanged: ("market_data", _download),
    MarketRecordingChanged: ("market_data", _recording),
    ReplayChanged: ("market_data", _replay),
}


def market_data_conflation_key(event: Event) -> str | None:
    """Progress snapshots: only the newest unsent one per download or replay matters."""
    if isinstance(event, MarketDownloadProgressed):
        return f"download:{event.download_id}"
    if isinstance(event, ReplayChanged):
        return f"replay:{event.replay_id}"
    return None
