"""Stored market data: inventory and gaps, downloads, imports, recordings and replays.

Everyone logged in reads; starting, cancelling, recording and replaying need the trader
role (checked by ``MarketDataService``). Downloads answer 202 at once: follow them with
``GET /market/data/downloads/{id}`` or on ``/ws`` (topic ``market_data``:
``download_progress`` and ``download`` messages), as replays (``replay`` messages).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from task_station.api.deps import REQUIRE_LOGIN, PrincipalDep, ServicesDep
from task_station.api.market_schemas import (
    DownloadIn,
    DownloadOut,
    GapOut,
    ImportIn,
    ImportOut,
    RecordingIn,
    RecordingOut,
    RecordingStopIn,
    ReplayIn,
    ReplayOut,
    SeekIn,
    SpeedIn,
    StepIn,
    StoredSeriesOut,
)

router = APIRouter(prefix="/market", tags=["market data"], dependencies=REQUIRE_LOGIN)

_Venue = Annotated[str, Query(min_length=1, max_length=64, description="e.g. binance")]
_Symbol = Annotated[str, Query(min_length=3, max_length=64, description="e.g. BTC/USDT")]
_Timeframe = Annotated[str, Query(min_length=2, max_length=8, description="e.g. 1m")]


# -- stored data --------------------------------------------------------------------------


@router.get("/data/inventory")
async def inventory(services: ServicesDep, with_gaps: bool = True) -> list[StoredSeriesOut]:
    """Every stored series: its range, rows, files and gaps."""
    return [StoredSeriesOut.of(s) for s in services.market_data.inventory(with_gaps=with_gaps)]


@router.get("/data/gaps")
async def gaps(
    services: ServicesDep, venue: _Venue, symbol: _Symbol, timeframe: _Timeframe
) -> list[GapOut]:
    """Runs of missing bars between the stored bars of one candle series."""
    return [GapOut.of(g) for g in services.market_data.gaps(venue, symbol, timeframe)]


@router.post("/data/downloads", status_code=202)
async def start_download(
    body: DownloadIn, principal: PrincipalDep, services: ServicesDep
) -> DownloadOut:
    """Start a history download; it resumes where the store stops and repairs gaps."""
    job = services.market_data.start_download(
        principal, body.venue, body.symbol, body.timeframe, body.since, body.until,
        repair=body.repair,
    )  # fmt: skip
    return DownloadOut.of(job)


@router.get("/data/downloads")
async def list_downloads(services: ServicesDep) -> list[DownloadOut]:
    """Running and recently ended downloads, newest first."""
    return [DownloadOut.of(job) for job in services.market_data.downloads()]


@router.get("/data/downloads/{download_id}")
async def get_download(download_id: str, services: ServicesDep) -> DownloadOut:
    return DownloadOut.of(services.market_data.download_job(download_id))


@router.post("/data/downloads/{download_id}/cancel")
async def cancel_download(
    download_id: str, principal: PrincipalDep, services: ServicesDep
) -> DownloadOut:
    """Stop after the page in flight (what was fetched stays stored; 409 once ended)."""
    return DownloadOut.of(await services.market_data.cancel_download(principal, download_id))


@router.post("/data/import")
async def import_file(body: ImportIn, principal: PrincipalDep, services: ServicesDep) -> ImportOut:
    """Import a candle file on the station's machine, all or nothing."""
    result = await services.market_data.import_data(
        principal, Path(body.path).expanduser(), body.venue, body.symbol, body.timeframe
    )
    return ImportOut.of(result)


@router.get("/data/decisions/{bot_id}")
async def decisions(bot_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    """A bot's recorded orders, fills and proposals (money as exact strings)."""
    return services.market_data.decisions(bot_id)


# -- recordings -----------------------------------------------------------------------------


@router.get("/recordings")
async def list_recordings(services: ServicesDep) -> list[RecordingOut]:
    return [RecordingOut.of(r) for r in services.market_data.recordings()]


@router.post("/recordings", status_code=201)
async def start_recording(
    body: RecordingIn, principal: PrincipalDep, services: ServicesDep
) -> RecordingOut:
    """Record a market's live trades, book snapshots and closed candles into the store."""
    view = services.market_data.start_recording(
        principal, body.market, trades=body.trades, books=body.books, candles=body.candles,
        book_depth=body.book_depth, book_interval=body.book_interval,
    )  # fmt: skip
    return RecordingOut.of(view)


@router.post("/recordings/stop")
async def stop_recording(
    body: RecordingStopIn, principal: PrincipalDep, services: ServicesDep
) -> RecordingOut:
    """Stop recording a market; what it buffered is written first."""
    return RecordingOut.of(await services.market_data.stop_recording(principal, body.market))


# -- replays --------------------------------------------------------------------------------


@router.get("/replays")
async def list_replays(services: ServicesDep) -> list[ReplayOut]:
    return [ReplayOut.of(r) for r in services.market_data.replays()]


@router.post("/replays", status_code=201)
async def start_replay(body: ReplayIn, principal: PrincipalDep, services: ServicesDep) -> ReplayOut:
    """Replay stored data through the event bus, as live data (``speed`` null: max)."""
    handle = services.market_data.start_replay(
        principal, body.markets, timeframe=body.timeframe, start=body.start, end=body.end,
        speed=body.speed, paused=body.paused, trades=body.trades, books=body.books,
    )  # fmt: skip
    return ReplayOut.of(handle)


@router.get("/replays/{replay_id}")
async def get_replay(replay_id: str, services: ServicesDep) -> ReplayOut:
    return ReplayOut.of(services.market_data.replay(replay_id))


@router.post("/replays/{replay_id}/pause")
async def pause_replay(replay_id: str, principal: PrincipalDep, services: ServicesDep) -> ReplayOut:
    return ReplayOut.of(services.market_data.pause_replay(principal, replay_id))


@router.post("/replays/{replay_id}/resume")
async def resume_replay(
    replay_id: str, principal: PrincipalDep, services: ServicesDep
) -> ReplayOut:
    return ReplayOut.of(services.market_data.resume_replay(principal, replay_id))


@router.post("/replays/{replay_id}/step")
async def step_replay(
    replay_id: str, body: StepIn, principal: PrincipalDep, services: ServicesDep
) -> ReplayOut:
    """Pause, then publish the next event (or everything up to the next closed bar)."""
    return ReplayOut.of(services.market_data.step_replay(principal, replay_id, body.unit))


@router.post("/replays/{replay_id}/seek")
async def seek_replay(
    replay_id: str, body: SeekIn, principal: PrincipalDep, services: ServicesDep
) -> ReplayOut:
    return ReplayOut.of(services.market_data.seek_replay(principal, replay_id, body.to))


@router.post("/replays/{replay_id}/speed")
async def replay_speed(
    replay_id: str, body: SpeedIn, principal: PrincipalDep, services: ServicesDep
) -> ReplayOut:
    return ReplayOut.of(services.market_data.set_replay_speed(principal, replay_id, body.speed))


@router.post("/replays/{replay_id}/stop")
async def stop_replay(replay_id: str, principal: PrincipalDep, services: ServicesDep) -> ReplayOut:
    return ReplayOut.of(await services.market_data.stop_replay(principal, replay_id))
