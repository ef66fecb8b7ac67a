"""Background jobs as the domain sees them: a job's record, its states and its events.

A job is one piece of long or outgoing work (a backtest, a download, a report, a
notification to send) kept in the station's database until it ended. Its life:

``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``, and
``running`` -> ``queued`` again when an attempt failed and another is allowed (after a
back-off), when its worker stopped answering (its lease expired) or when the station
stopped while it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from task_station.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    SecretStoreError,
    ValidationError,
)
from task_station.domain.events import Event

#: Errors that another attempt cannot fix: the job fails at once (the trader must act).
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    ValidationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    AuthenticationError,
    SecretStoreError,
)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True, slots=True)
class Job:
    """One job. ``payload`` and ``result`` are JSON documents; ``steps`` holds the
    effects an attempt already completed (a later attempt skips them); ``progress`` is
    0..1. ``attempts`` counts the attempts started so far."""

    id: str
    kind: str
    title: str
    payload: dict[str, Any]
    state: JobState
    created_at: datetime
    run_after: datetime
    max_attempts: int = 5
    attempts: int = 0
    priority: int = 0
    idempotency_key: str | None = None
    created_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_until: datetime | None = None
    worker: str | None = None
    cancel_requested: bool = False
    progress: float = 0.0
    progress_text: str | None = None
    steps: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None


def backoff_delay(
    attempt: int, *, base: float = 2.0, cap: float = 600.0, factor: float = 2.0
) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, ...): ``base``
    seconds, doubling each attempt, at most ``cap``."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    seconds = min(cap, base * factor ** (attempt - 1))
    return timedelta(seconds=seconds)


def is_permanent(exc: BaseException) -> bool:
    """Whether ``exc`` fails a job at once instead of being retried."""
    return isinstance(exc, PERMANENT_ERRORS)


@dataclass(frozen=True, slots=True)
class JobChanged(Event):
    """A job was queued, started, scheduled for another attempt or ended."""

    job_id: str
    kind: str
    title: str
    state: str
    attempts: int
    max_attempts: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class JobProgressed(Event):
    """A running job got ``done`` of ``total`` steps through (``message``: what it does)."""

    job_id: str
    kind: str
    done: int
    total: int
    message: str | None = None
