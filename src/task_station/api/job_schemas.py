"""Bodies of the ``/jobs`` and ``/notifications`` routes.

A channel's secret fields are write-only: ``ChannelIn.secret`` is taken as
``SecretStr`` (never echoed in a validation error or a log) and ``ChannelOut`` only
says which secret fields are set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from task_station.api.backtest_schemas import plain
from task_station.services.jobs import Job
from task_station.services.notifications import ChannelView, Notification


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field must not be ignored


class JobOut(BaseModel):
    """A background job; ``progress`` is 0..1; ``attempts`` counts those started."""

    id: str
    kind: str
    title: str
    state: str
    progress: float
    progress_text: str | None
    attempts: int
    max_attempts: int
    priority: int
    created_by: str | None
    created_at: datetime
    run_after: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None
    cancel_requested: bool
    error: str | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            title=job.title,
            state=job.state.value,
            progress=job.progress,
            progress_text=job.progress_text,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            priority=job.priority,
            created_by=job.created_by,
            created_at=job.created_at,
            run_after=job.run_after,
            started_at=job.started_at,
            finished_at=job.finished_at,
            worker=job.worker,
            cancel_requested=job.cancel_requested,
            error=job.error,
        )


class JobDetail(JobOut):
    """A job with its payload and result."""

    payload: dict[str, Any]
    result: dict[str, Any] | None

    @classmethod
    def of(cls, job: Job) -> JobDetail:
        base = JobOut.of(job).model_dump()
        return cls(**base, payload=plain(job.payload), result=plain(job.result))


class NotificationOut(BaseModel):
    id: str
    ts: datetime
    kind: str
    severity: str
    title: str
    body: str
    data: dict[str, Any]
    read: bool
    read_at: datetime | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        return cls(
            id=notification.id,
            ts=notification.ts,
            kind=notification.kind,
            severity=notification.severity.label,
            title=notification.title,
            body=notification.body,
            data=plain(notification.data),
            read=notification.read,
            read_at=notification.read_at,
        )


class MarkReadIn(_Request):
    """The notifications to mark read; none given: every unread one."""

    ids: list[str] | None = Field(default=None, max_length=500)


class MarkReadOut(BaseModel):
    marked: int


class ChannelIn(_Request):
    """A channel (``PUT /notifications/channels/{name}``). ``secret`` holds the secret
    fields (email ``password``; Telegram ``bot_token``; Discord ``webhook_url``;
    webhook ``url`` and ``signing_key``); leave it out to keep the stored one."""

    type: str = Field(description="desktop, email, telegram, discord or webhook")
    enabled: bool = True
    kinds: list[str] = Field(
        default_factory=list, max_length=50, description="Kind patterns, e.g. bot.*; [] = all."
    )
    min_severity: str = Field(default="info", description="info, warning, error or critical")
    settings: dict[str, Any] = Field(default_factory=dict)
    rate_per_minute: float = Field(default=20.0, gt=0, le=600)
    burst: int = Field(default=5, ge=1, le=100)
    secret: dict[str, SecretStr] | None = None


class ChannelOut(BaseModel):
    """A channel; never its secret: ``secrets_set`` names the secret fields stored."""

    name: str
    type: str
    enabled: bool
    kinds: list[str]
    min_severity: str
    settings: dict[str, Any]
    rate_per_minute: float
    burst: int
    secrets_set: list[str]
    secrets_needed: list[str]
    suppressed: int
    updated_at: datetime | None

    @classmethod
    def of(cls, view: ChannelView) -> ChannelOut:
        return cls(
            name=view.name,
            type=view.type,
            enabled=view.enabled,
            kinds=list(view.kinds),
            min_severity=view.min_severity,
            settings=plain(view.settings),
            rate_per_minute=view.rate_per_minute,
            burst=view.burst,
            secrets_set=list(view.secrets_set),
            secrets_needed=list(view.secrets_needed),
            suppressed=view.suppressed,
            updated_at=view.updated_at,
        )
