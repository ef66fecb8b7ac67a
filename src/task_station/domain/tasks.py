"""Tasks: triggers joined to actions, and the record of every run.

A task runs its actions in order when any of its enabled triggers fires: a schedule
(cron, interval), a webhook, a market condition (a price crossing a level, a move
within a window, an indicator condition), a bot event (started, stopped, error, P&L or
drawdown beyond a threshold) or the end of another task's run (chaining). Each run is
recorded with its cause, the outcome of each action, its log lines and its duration.

Configurations are plain JSON-able mappings (``task_configs`` checks them), so a task
is stored, sent over HTTP and edited in the GUI as is. Secrets are never part of a
task: a webhook's secret lives in the vault under ``webhook_secret_ref(hook_id)``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from task_station.domain.errors import TaskStationError
from task_station.domain.events import Event


class TriggerKind(StrEnum):
    CRON = "cron"
    INTERVAL = "interval"
    WEBHOOK = "webhook"
    PRICE_CROSS = "price_cross"
    PRICE_MOVE = "price_move"
    INDICATOR = "indicator"
    BOT_EVENT = "bot_event"
    BOT_PNL = "bot_pnl"
    TASK_RESULT = "task_result"

    @property
    def scheduled(self) -> bool:
        """Fired by the clock (APScheduler), not by an event."""
        return self in (TriggerKind.CRON, TriggerKind.INTERVAL)


class ActionKind(StrEnum):
    START_BOT = "start_bot"
    STOP_BOT = "stop_bot"
    PAUSE_BOT = "pause_bot"
    RESUME_BOT = "resume_bot"
    PLACE_ORDER = "place_order"
    CANCEL_ORDERS = "cancel_orders"
    CLOSE_POSITIONS = "close_positions"
    RUN_BACKTEST = "run_backtest"
    NOTIFY = "notify"
    CALL_WEBHOOK = "call_webhook"

    @property
    def retry_safe(self) -> bool:
        """Whether doing it again after a failure cannot do twice what was meant once.

        Starting a started bot or cancelling cancelled orders changes nothing; a second
        notification or outgoing call is a nuisance, not a loss. Placing an order,
        closing positions (orders) or submitting a backtest are never repeated blindly.
        """
        return self not in _NOT_RETRIED


_NOT_RETRIED = frozenset(
    {ActionKind.PLACE_ORDER, ActionKind.CLOSE_POSITIONS, ActionKind.RUN_BACKTEST}
)


class MissedRuns(StrEnum):
    """What to do with scheduled runs that fell while the station was down."""

    SKIP = "skip"  # none of them run (each is recorded as skipped)
    RUN_ONCE = "run_once"  # coalesced: the latest one runs once, if within the grace window
    RUN_ALL = "run_all"  # each one within the grace window runs, oldest first


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def ended(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class ActionFailed(TaskStationError):
    """An action could not do what it was asked; the run fails (the trader reads why)."""


class TransientActionError(ActionFailed):
    """A failure worth retrying with back-off (the network, a busy server)."""


def webhook_secret_ref(hook_id: str) -> str:
    """The vault reference of a webhook trigger's secret."""
    return f"webhook:{hook_id}"


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: TriggerKind
    config: dict[str, Any]
    id: int | None = None  # set once stored
    enabled: bool = True
    hook_id: str | None = None  # webhooks only: the public part of the URL

    def describe(self) -> str:
        """A short human summary: ``cron */5 * * * *``, ``webhook abc...``."""
        config = self.config
        if self.kind is TriggerKind.CRON:
            return f"cron {config.get('expression', '')}"
        if self.kind is TriggerKind.INTERVAL:
            return f"every {config.get('seconds')} s"
        if self.kind is TriggerKind.WEBHOOK:
            return f"webhook {self.hook_id or '(new)'}"
        details = ", ".join(f"{k}={v}" for k, v in sorted(config.items()))
        return f"{self.kind.value} {details}".strip()


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    config: dict[str, Any]

    @property
    def retries(self) -> int:
        return int(self.config.get("retries", 0))

    @property
    def continue_on_error(self) -> bool:
        return bool(self.config.get("continue_on_error", False))


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    name: str
    triggers: tuple[Trigger, ...]
    actions: tuple[Action, ...]
    created_at: datetime
    enabled: bool = True
    owner: str | None = None  # the username whose rights the task's actions use
    description: str | None = None
    missed_runs: MissedRuns = MissedRuns.SKIP
    grace_seconds: int | None = None  # None: however late
    updated_at: datetime | None = None

    def trigger(self, trigger_id: int | None) -> Trigger | None:
        return next((t for t in self.triggers if t.id == trigger_id), None)

    def active_triggers(self, *kinds: TriggerKind) -> list[Trigger]:
        """Enabled triggers of ``kinds`` (all kinds when none given); none when disabled."""
        if not self.enabled:
            return []
        return [t for t in self.triggers if t.enabled and (not kinds or t.kind in kinds)]


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """How one action of a run ended."""

    position: int
    kind: ActionKind
    status: RunStatus  # succeeded, failed or skipped
    detail: str
    attempts: int = 0
    duration_ms: int = 0

    def to_mapping(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "kind": self.kind.value,
            "status": self.status.value,
            "detail": self.detail,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
        }

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> ActionOutcome:
        return cls(
            position=int(raw["position"]),
            kind=ActionKind(raw["kind"]),
            status=RunStatus(raw["status"]),
            detail=str(raw.get("detail", "")),
            attempts=int(raw.get("attempts", 0)),
            duration_ms=int(raw.get("duration_ms", 0)),
        )


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One run of a task. ``cause`` says what fired it (``schedule``, ``webhook``,
    ``manual:alice``, ``event:price_cross``, ``chain:<run id>``, ``missed``)."""

    id: int | None
    task_id: str
    cause: str
    status: RunStatus
    started_at: datetime
    trigger_id: int | None = None
    scheduled_for: datetime | None = None
    finished_at: datetime | None = None
    summary: str | None = None
    logs: tuple[str, ...] = ()
    outcomes: tuple[ActionOutcome, ...] = ()
    error: str | None = None
    payload: dict[str, Any] | None = None  # the signal that fired it (never a secret)

    @property
    def duration(self) -> timedelta | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class Alert:
    """What an incoming alert says, whatever its format (TradingView, 3Commas, text).

    ``fields`` holds every field as text (nested keys joined with dots) except the
    secret, which is kept apart and never printed.
    """

    format: str
    fields: dict[str, str]
    secret: str | None = field(default=None, repr=False)
    timestamp: datetime | None = None
    side: str | None = None  # buy or sell
    quantity: Decimal | None = None
    price: Decimal | None = None
    symbol: str | None = None
    bot_id: str | None = None
    order_type: str | None = None  # market or limit
    command: str | None = None  # the alert's own verb (enter_long, close, start_bot...)

    def fingerprint(self) -> str:
        """The same alert gives the same fingerprint, however its bytes were spaced."""
        canonical = json.dumps(self.fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def values(self) -> dict[str, str]:
        """Fields for templates: the raw ones, then the recognised ones by their names."""
        known = {
            "side": self.side,
            "quantity": None if self.quantity is None else format(self.quantity, "f"),
            "price": None if self.price is None else format(self.price, "f"),
            "symbol": self.symbol,
            "bot_id": self.bot_id,
            "type": self.order_type,
            "command": self.command,
        }
        return {**self.fields, **{k: v for k, v in known.items() if v is not None}}


# -- events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskChanged(Event):
    """A task was created, updated, enabled, disabled or deleted (``change``)."""

    task_id: str
    name: str
    change: str


@dataclass(frozen=True, slots=True)
class TaskRunChanged(Event):
    """A run was queued, started or ended; ``depth`` counts chained runs before it."""

    task_id: str
    task_name: str
    run_id: int
    status: RunStatus
    error: str | None = None
    depth: int = 0
