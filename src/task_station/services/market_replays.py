"""Replays of stored market data, kept by id for every face (see ``engine.market_replay``).

Each replay runs as an asyncio task publishing on the station's bus; ``ReplayHandle`` is
a snapshot of one (its state, clock, speed and how many events it published). Ended
replays stay listed for a while so a face can show how they ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from task_station.domain.errors import NotFoundError
from task_station.domain.market_data_events import ReplayState
from task_station.engine.market_replay import MarketReplay

log = logging.getLogger(__name__)

KEEP_ENDED = 20


@dataclass(frozen=True, slots=True)
class ReplayHandle:
    """A replay as the faces see it; ``speed`` None is as fast as possible."""

    id: str
    markets: tuple[str, ...]
    timeframe: str | None
    state: ReplayState
    position: datetime
    start: datetime
    end: datetime
    speed: float | None
    published: int
    started_by: str
    error: str | None = None

    @property
    def progress(self) -> float:
        span = (self.end - self.start).total_seconds()
        if span <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.position - self.start).total_seconds() / span))


@dataclass(eq=False)
class _Entry:
    replay: MarketReplay
    timeframe: str | None
    started_by: str
    task: asyncio.Task[ReplayState]

    def handle(self) -> ReplayHandle:
        snap = self.replay.snapshot()
        return ReplayHandle(
            id=snap.replay_id, markets=tuple(m.name for m in self.replay.markets),
            timeframe=self.timeframe, state=snap.state, position=snap.position,
            start=snap.start, end=snap.end, speed=snap.speed, published=snap.published,
            started_by=self.started_by, error=snap.error,
        )  # fmt: skip


class Replays:
    """The station's replays by id."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._order: list[str] = []

    def add(self, replay: MarketReplay, timeframe: str | None, actor: str) -> str:
        """Run ``replay`` as a task (needs a running loop); returns its id."""
        task = asyncio.get_running_loop().create_task(
            replay.run(), name=f"replay-{replay.replay_id}"
        )
        self._entries[replay.replay_id] = _Entry(replay, timeframe, actor, task)
        self._order.append(replay.replay_id)
        self._forget_old()
        return replay.replay_id

    def get(self, replay_id: str) -> MarketReplay:
        return self._entry(replay_id).replay

    def handle(self, replay_id: str) -> ReplayHandle:
        return self._entry(replay_id).handle()

    def handles(self) -> list[ReplayHandle]:
        """Newest first."""
        return [self._entries[i].handle() for i in reversed(self._order)]

    def live(self) -> list[MarketReplay]:
        return [e.replay for e in self._entries.values() if not e.replay.state.ended]

    async def stop(self, replay_id: str) -> ReplayHandle:
        entry = self._entry(replay_id)
        entry.replay.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await entry.task
        return entry.handle()

    async def shutdown(self) -> None:
        for replay_id in list(self._order):
            entry = self._entries[replay_id]
            if not entry.task.done():
                await self.stop(replay_id)

    def _entry(self, replay_id: str) -> _Entry:
        entry = self._entries.get(replay_id)
        if entry is None:
            raise NotFoundError(f"no replay with id {replay_id!r}")
        return entry

    def _forget_old(self) -> None:
        ended = [i for i in self._order if self._entries[i].replay.state.ended]
        for replay_id in ended[: max(0, len(ended) - KEEP_ENDED)]:
            self._order.remove(replay_id)
            self._entries.pop(replay_id, None)


def new_replay_id() -> str:
    return uuid.uuid4().hex[:12]
