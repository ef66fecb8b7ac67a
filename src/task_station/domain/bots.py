"""Bot definitions and their lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from task_station.domain.errors import ConflictError
from task_station.domain.proposals import ControlMode


class BotStatus(StrEnum):
    """A bot's lifecycle, stored with the bot so a restarted station knows where it was.

    ``created -> starting -> running``; ``running <-> paused`` (a risk limit paused it, a
    trader resumed it); ``running/paused -> stopping -> stopped``; any live state ->
    ``error``; ``stopped/error -> starting``; ``finished`` (the data feed ended) is
    terminal. Bots stored starting, running or paused when the station starts are
    resumed; stopping ones become stopped (see ``BotService.resume_after_restart``).
    """

    CREATED = "created"
    STARTING = "starting"  # open orders are being reconciled before it trades
    RUNNING = "running"
    PAUSED = "paused"  # a risk limit paused it: marks and stops go on, the strategy waits
    STOPPING = "stopping"
    STOPPED = "stopped"
    FINISHED = "finished"  # the data feed ended
    ERROR = "error"  # the strategy failed, or the bot could not start or resume

    @property
    def is_live(self) -> bool:
        """True while the station owes the bot a task (it runs, or is about to)."""
        return self in _LIVE


_LIVE = frozenset({BotStatus.STARTING, BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPING})

_BOT_TRANSITIONS: dict[BotStatus, frozenset[BotStatus]] = {
    BotStatus.CREATED: frozenset({BotStatus.STARTING}),
    BotStatus.STARTING: frozenset(
        {BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPED, BotStatus.ERROR}
    ),
    BotStatus.RUNNING: frozenset(
        {BotStatus.PAUSED, BotStatus.STOPPING, BotStatus.FINISHED, BotStatus.ERROR}
    ),
    BotStatus.PAUSED: frozenset(
        {BotStatus.RUNNING, BotStatus.STOPPING, BotStatus.FINISHED, BotStatus.ERROR}
    ),
    BotStatus.STOPPING: frozenset({BotStatus.STOPPED, BotStatus.ERROR}),
    BotStatus.STOPPED: frozenset({BotStatus.STARTING}),
    BotStatus.FINISHED: frozenset(),
    BotStatus.ERROR: frozenset({BotStatus.STARTING, BotStatus.STOPPED}),
}


class BotMode(StrEnum):
    PAPER = "paper"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class BotDefinition:
    """What a bot runs: one strategy on one instrument of one venue."""

    id: str
    name: str
    strategy: str
    params: dict[str, object]
    venue: str
    symbol: str
    timeframe: str
    quote_budget: Decimal
    created_at: datetime
    mode: BotMode = BotMode.PAPER
    status: BotStatus = BotStatus.CREATED
    owner: str | None = None
    error: str | None = None
    data_source: str = field(default="synthetic:7")
    fee_bps: Decimal = Decimal(10)
    control_mode: ControlMode = ControlMode.AUTOMATED  # who decides its orders

    def with_status(self, status: BotStatus, error: str | None = None) -> BotDefinition:
        if status not in _BOT_TRANSITIONS[self.status]:
            raise ConflictError(
                f"bot {self.name!r} is {self.status.value} and cannot become {status.value}"
            )
        return replace(self, status=status, error=error)
