"""Bot definitions and their lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from task_station.domain.errors import ConflictError
from task_station.domain.proposals import ControlMode


class BotStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    FINISHED = "finished"  # the data feed ended
    ERROR = "error"  # paused after the strategy failed


_BOT_TRANSITIONS: dict[BotStatus, frozenset[BotStatus]] = {
    BotStatus.CREATED: frozenset({BotStatus.RUNNING}),
    BotStatus.RUNNING: frozenset({BotStatus.STOPPED, BotStatus.FINISHED, BotStatus.ERROR}),
    BotStatus.STOPPED: frozenset({BotStatus.RUNNING}),
    BotStatus.FINISHED: frozenset(),
    BotStatus.ERROR: frozenset({BotStatus.RUNNING, BotStatus.STOPPED}),
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
