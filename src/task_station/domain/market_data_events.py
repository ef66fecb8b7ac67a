"""Events of the stored market data: downloads, recordings and replays.

The market events themselves (trades, books, candles) are in ``market_feed``; a replay
publishes those same classes. These say what the station's data work is doing, so every
face (the GUI's Market dock, ``/ws`` clients) follows a download's progress or a
replay's position from the bus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from task_station.domain.events import Event


class DownloadState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def ended(self) -> bool:
        return self is not DownloadState.RUNNING


class ReplayState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # every event up to the end of the range was published
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def ended(self) -> bool:
        return self in (ReplayState.FINISHED, ReplayState.STOPPED, ReplayState.FAILED)


@dataclass(frozen=True, slots=True)
class MarketDownloadProgressed(Event):
    """A history download stored ``done`` of about ``total`` bars so far."""

    download_id: str
    venue: str
    symbol: str
    timeframe: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class MarketDownloadChanged(Event):
    """A history download started or ended; ``error`` says why one failed."""

    download_id: str
    venue: str
    symbol: str
    timeframe: str
    state: DownloadState
    bars_written: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class MarketRecordingChanged(Event):
    """Recording of ``market`` (``venue:BASE/QUOTE``) started or stopped."""

    market: str
    recording: bool
    actor: str


@dataclass(frozen=True, slots=True)
class ReplayChanged(Event):
    """A replay's state or position changed (at most a few times a second while it
    runs). ``position`` is the replay clock; ``speed`` None means as fast as possible."""

    replay_id: str
    state: ReplayState
    position: datetime
    start: datetime
    end: datetime
    speed: float | None
    published: int
    error: str | None = None

    @property
    def progress(self) -> float:
        """How far through the range the replay clock is, 0..1."""
        span = (self.end - self.start).total_seconds()
        if span <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.position - self.start).total_seconds() / span))
