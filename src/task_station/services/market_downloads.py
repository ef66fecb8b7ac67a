"""History downloads as background work: started, followed and cancelled by id.

``MarketDataService.start_download`` runs ``download`` as an asyncio task and keeps a
``DownloadJob`` for it, so the GUI's download manager, ``POST /market/data/downloads``
and every ``/ws`` client see the same downloads. Progress is published on the bus as
``MarketDownloadProgressed`` (a few times a second at most) and each start and end as
``MarketDownloadChanged``. Jobs live in memory: the store is the checkpoint, so a
download lost with the process resumes where it stopped when started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from task_station.domain.clock import Clock
from task_station.domain.errors import ConflictError, NotFoundError, TaskStationError
from task_station.domain.events import Event
from task_station.domain.market_data_events import (
    DownloadState,
    MarketDownloadChanged,
    MarketDownloadProgressed,
)
from task_station.marketdata.history import CancelFlag, DownloadResult, ProgressCallback

log = logging.getLogger(__name__)

#: Ended downloads kept for the lists (the oldest are forgotten first).
KEEP_ENDED = 50
PROGRESS_EVERY_SECONDS = 0.2
CANCEL_WAIT_SECONDS = 5.0
Run = Callable[[ProgressCallback, CancelFlag], Awaitable[DownloadResult]]


@dataclass(frozen=True, slots=True)
class DownloadJob:
    """One download: what, how far (``done`` of about ``total`` bars), how it ended."""

    id: str
    venue: str
    symbol: str
    timeframe: str
    since: datetime
    until: datetime | None
    state: DownloadState
    started_by: str
    started_at: datetime
    done: int = 0
    total: int = 0
    bars_written: int = 0
    gaps: int = 0  # gaps still missing in the range when it ended
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def progress(self) -> float:
        if self.state is DownloadState.FINISHED:
            return 1.0
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0


@dataclass(eq=False)
class _Entry:
    job: DownloadJob
    cancel: asyncio.Event
    task: asyncio.Task[None] | None = None
    reported: float = 0.0


class DownloadJobs:
    """The running and recently ended downloads."""

    def __init__(self, clock: Clock, publish: Callable[[Event], None]) -> None:
        self._clock = clock
        self._publish = publish
        self._entries: dict[str, _Entry] = {}

    def list(self) -> list[DownloadJob]:
        """Newest first."""
        return sorted((e.job for e in self._entries.values()),
                      key=lambda j: j.started_at, reverse=True)  # fmt: skip

    def get(self, download_id: str) -> DownloadJob:
        return self._entry(download_id).job

    def running(self, venue: str, symbol: str, timeframe: str) -> DownloadJob | None:
        for entry in self._entries.values():
            job = entry.job
            if not job.state.ended and (job.venue, job.symbol, job.timeframe) == (
                venue, symbol, timeframe,
            ):  # fmt: skip
                return job
        return None

    def start(self, job: DownloadJob, run: Run, progress: ProgressCallback | None) -> DownloadJob:
        """Run ``run(progress, cancel)`` as a task for ``job`` (needs a running loop)."""
        entry = _Entry(job, asyncio.Event())
        self._entries[job.id] = entry
        entry.task = asyncio.get_running_loop().create_task(
            self._run(entry, run, progress), name=f"download-{job.venue}-{job.symbol}"
        )
        self._changed(entry)
        self._forget_old()
        return job

    async def cancel(self, download_id: str) -> DownloadJob:
        """Stop after the page in flight (what was fetched is kept); waits a little."""
        entry = self._entry(download_id)
        if entry.job.state.ended:
            raise ConflictError(f"the download {download_id} has already {entry.job.state.value}")
        entry.cancel.set()
        if entry.task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(entry.task), CANCEL_WAIT_SECONDS)
        return entry.job

    async def shutdown(self) -> None:
        """Cancel every download and wait for them (what was fetched is stored)."""
        entries = [e for e in self._entries.values() if e.task is not None and not e.task.done()]
        for entry in entries:
            entry.cancel.set()
        for entry in entries:
            assert entry.task is not None
            try:
                await asyncio.wait_for(entry.task, CANCEL_WAIT_SECONDS)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("download %s did not stop in time", entry.job.id)

    def _entry(self, download_id: str) -> _Entry:
        entry = self._entries.get(download_id)
        if entry is None:
            raise NotFoundError(f"no download with id {download_id!r}")
        return entry

    async def _run(self, entry: _Entry, run: Run, progress: ProgressCallback | None) -> None:
        def on_progress(done: int, total: int) -> None:
            entry.job = dataclasses.replace(entry.job, done=done, total=total)
            if progress is not None:
                try:
                    progress(done, total)
                except Exception:  # a face's callback must not end the download
                    log.exception("download progress callback failed")
            now = time.monotonic()
            if now - entry.reported >= PROGRESS_EVERY_SECONDS or done >= total:
                entry.reported = now
                self._publish(MarketDownloadProgressed(
                    self._clock.now(), entry.job.id, entry.job.venue, entry.job.symbol,
                    entry.job.timeframe, done, total,
                ))  # fmt: skip

        try:
            result = await run(on_progress, entry.cancel)
        except TaskStationError as exc:
            self._end(entry, DownloadState.FAILED, error=str(exc))
        except asyncio.CancelledError:
            self._end(entry, DownloadState.CANCELLED, error="the station stopped it")
            raise
        except Exception as exc:  # a bug: say so, keep the station
            log.exception("download %s failed", entry.job.id)
            self._end(entry, DownloadState.FAILED, error=f"internal error: {type(exc).__name__}")
        else:
            state = DownloadState.CANCELLED if result.cancelled else DownloadState.FINISHED
            self._end(entry, state, result=result)

    def _end(
        self,
        entry: _Entry,
        state: DownloadState,
        *,
        result: DownloadResult | None = None,
        error: str | None = None,
    ) -> None:
        changes: dict[str, object] = {"state": state, "error": error,
                                      "finished_at": self._clock.now()}  # fmt: skip
        if result is not None:
            changes.update(bars_written=result.bars_written, gaps=len(result.gaps))
        entry.job = dataclasses.replace(entry.job, **changes)  # type: ignore[arg-type]
        self._changed(entry)

    def _changed(self, entry: _Entry) -> None:
        job = entry.job
        self._publish(MarketDownloadChanged(
            self._clock.now(), job.id, job.venue, job.symbol, job.timeframe, job.state,
            job.bars_written, job.error,
        ))  # fmt: skip

    def _forget_old(self) -> None:
        ended = [e for e in self._entries.values() if e.job.state.ended]
        ended.sort(key=lambda e: e.job.started_at)
        for entry in ended[: max(0, len(ended) - KEEP_ENDED)]:
            self._entries.pop(entry.job.id, None)


def new_download_id() -> str:
    return uuid.uuid4().hex[:12]
