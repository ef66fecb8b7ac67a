"""Request and response bodies of ``/tasks`` and ``/webhooks``.

A trigger or an action is ``{"kind": ..., "config": {...}}``; the service checks each
configuration and names the key it refuses (422). A webhook trigger's secret is given
in ``config.secret`` when it is created or changed and is never sent back: responses
carry only the trigger's ``webhook_path``. Money in a configuration travels as a string
(``"65000.5"``) and comes back as one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from task_station.domain.tasks import Action, ActionOutcome, Task, TaskRun, Trigger
from task_station.services.tasks import WebhookReceipt


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerIn(_Request):
    kind: str = Field(
        description="cron, interval, webhook, price_cross, price_move, indicator, "
        "bot_event, bot_pnl or task_result"
    )
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    id: int | None = Field(default=None, description="Keep this stored trigger (and its URL).")

    def to_spec(self) -> dict[str, Any]:
        return self.model_dump()


class ActionIn(_Request):
    kind: str = Field(
        description="start_bot, stop_bot, pause_bot, resume_bot, place_order, cancel_orders, "
        "close_positions, run_backtest, notify or call_webhook"
    )
    config: dict[str, Any] = Field(default_factory=dict)

    def to_spec(self) -> dict[str, Any]:
        return self.model_dump()


class TaskCreate(_Request):
    name: str = Field(min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    enabled: bool = True
    triggers: list[TriggerIn] = Field(min_length=1)
    actions: list[ActionIn] = Field(min_length=1)
    missed_runs: str = Field(default="skip", description="skip, run_once or run_all")
    grace_seconds: int | None = Field(
        default=None, strict=True, description="How late a missed run may still run."
    )


class TaskUpdate(_Request):
    """Only the fields given change; ``grace_seconds: null`` means however late."""

    name: str | None = Field(default=None, min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    triggers: list[TriggerIn] | None = None
    actions: list[ActionIn] | None = None
    missed_runs: str | None = None
    grace_seconds: int | None = Field(default=None, strict=True)


class TriggerOut(BaseModel):
    id: int | None
    kind: str
    config: dict[str, Any]
    enabled: bool
    summary: str
    webhook_path: str | None = Field(description="Where alerts are posted (webhooks only).")
    next_run: datetime | None = None

    @classmethod
    def of(cls, trigger: Trigger, next_run: datetime | None = None) -> TriggerOut:
        path = None if trigger.hook_id is None else f"/webhooks/{trigger.hook_id}"
        return cls(
            id=trigger.id,
            kind=trigger.kind.value,
            config=dict(trigger.config),
            enabled=trigger.enabled,
            summary=trigger.describe(),
            webhook_path=path,
            next_run=next_run,
        )


class ActionOut(BaseModel):
    kind: str
    config: dict[str, Any]

    @classmethod
    def of(cls, action: Action) -> ActionOut:
        return cls(kind=action.kind.value, config=dict(action.config))


class TaskOut(BaseModel):
    id: str
    name: str
    description: str | None
    enabled: bool
    owner: str | None
    created_at: datetime
    updated_at: datetime | None
    missed_runs: str
    grace_seconds: int | None
    triggers: list[TriggerOut]
    actions: list[ActionOut]

    @classmethod
    def of(cls, task: Task, next_runs: dict[int, datetime | None] | None = None) -> TaskOut:
        runs = next_runs or {}
        return cls(
            id=task.id,
            name=task.name,
            description=task.description,
            enabled=task.enabled,
            owner=task.owner,
            created_at=task.created_at,
            updated_at=task.updated_at,
            missed_runs=task.missed_runs.value,
            grace_seconds=task.grace_seconds,
            triggers=[TriggerOut.of(t, runs.get(t.id or -1)) for t in task.triggers],
            actions=[ActionOut.of(a) for a in task.actions],
        )


class OutcomeOut(BaseModel):
    position: int
    kind: str
    status: str
    detail: str
    attempts: int
    duration_ms: int

    @classmethod
    def of(cls, outcome: ActionOutcome) -> OutcomeOut:
        return cls(**outcome.to_mapping())


class RunOut(BaseModel):
    id: int | None
    task_id: str
    trigger_id: int | None
    cause: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    scheduled_for: datetime | None
    duration_ms: int | None
    summary: str | None
    error: str | None
    logs: list[str]
    outcomes: list[OutcomeOut]
    payload: dict[str, Any] | None

    @classmethod
    def of(cls, run: TaskRun) -> RunOut:
        duration = run.duration
        return cls(
            id=run.id,
            task_id=run.task_id,
            trigger_id=run.trigger_id,
            cause=run.cause,
            status=run.status.value,
            started_at=run.started_at,
            finished_at=run.finished_at,
            scheduled_for=run.scheduled_for,
            duration_ms=None if duration is None else int(duration.total_seconds() * 1000),
            summary=run.summary,
            error=run.error,
            logs=list(run.logs),
            outcomes=[OutcomeOut.of(o) for o in run.outcomes],
            payload=run.payload,
        )


class WebhookOut(BaseModel):
    """``accepted``: the run is queued (``run_id``); ``duplicate``: the same alert was
    already accepted within the trigger's window, and nothing more runs."""

    status: str
    run_id: int | None

    @classmethod
    def of(cls, receipt: WebhookReceipt) -> WebhookOut:
        return cls(status=receipt.status, run_id=receipt.run_id)
