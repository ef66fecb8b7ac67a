"""Background jobs as a use case: list, follow and cancel them from any face.

The queue itself (``jobs.queue.JobQueue``) runs the jobs; this service is what the GUI's
Jobs view, ``/jobs`` and ``task-station jobs`` call. Other services enqueue through
``enqueue`` and say how to run their kinds with ``register``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from task_station.domain.errors import ConflictError, NotFoundError, ValidationError
from task_station.domain.jobs import Job as Job  # faces read
from task_station.domain.jobs import JobState as JobState  # faces read
from task_station.jobs.queue import Handler, JobQueue
from task_station.services.principal import Principal

MAX_LISTED = 500
#: How long ``cancel`` waits for a running job to stop before answering.
CANCEL_WAIT_SECONDS = 5.0


class JobReader(Protocol):
    """The listing side of the job store (``persistence.jobs.SqlJobStore``)."""

    def get(self, job_id: str) -> Job | None: ...

    def list(
        self,
        *,
        limit: int = 50,
        states: Sequence[JobState] | None = None,
        kind: str | None = None,
    ) -> builtins.list[Job]: ...


class JobService:
    """The station's background jobs: ``queue`` runs them, ``jobs`` lists them."""

    def __init__(self, queue: JobQueue, jobs: JobReader) -> None:
        self.queue = queue
        self._jobs = jobs

    # -- reading ------------------------------------------------------------------------

    def list(
        self,
        *,
        limit: int = 50,
        state: str | None = None,
        kind: str | None = None,
    ) -> builtins.list[Job]:
        """The newest jobs first; ``state`` (queued, running, succeeded, failed,
        cancelled, or ``active`` for the first two) and ``kind`` narrow the list."""
        if not 1 <= limit <= MAX_LISTED:
            raise ValidationError(f"limit must be between 1 and {MAX_LISTED}, got {limit}")
        return self._jobs.list(limit=limit, states=_states(state), kind=kind)

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} does not exist")
        return job

    # -- control ------------------------------------------------------------------------

    async def cancel(
        self, actor: Principal, job_id: str, *, wait: float = CANCEL_WAIT_SECONDS
    ) -> Job:
        """Cancel a queued job, or stop a running one and wait up to ``wait`` seconds
        for it to end; ``ConflictError`` when it already ended."""
        actor.require_trader("cancel background jobs")
        job = self.get(job_id)
        if job.state.ended:
            raise ConflictError(f"job {job_id} already ended: it is {job.state.value}")
        self.queue.cancel(job_id)
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.queue.wait(job_id, timeout=wait), wait + 1.0)
        return self.get(job_id)

    def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        title: str | None = None,
        idempotency_key: str | None = None,
        max_attempts: int | None = None,
        delay: float = 0.0,
        priority: int = 0,
        created_by: str | None = None,
    ) -> Job:
        """Queue a job (see ``JobQueue.enqueue``)."""
        return self.queue.enqueue(
            kind,
            payload,
            title=title,
            idempotency_key=idempotency_key,
            max_attempts=max_attempts,
            delay=delay,
            priority=priority,
            created_by=created_by,
        )

    def register(self, kind: str, handler: Handler, **options: Any) -> None:
        """Run jobs of ``kind`` with ``handler`` in this station (see ``JobQueue.register``)."""
        self.queue.register(kind, handler, **options)

    async def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """The job once it ended (``TimeoutError`` after ``timeout`` seconds)."""
        return await self.queue.wait(job_id, timeout)

    def start(self) -> None:
        """Start running the registered kinds (on the station's loop)."""
        self.queue.start()

    async def stop(self) -> None:
        """Stop; the jobs running here go back to the queue for the next start."""
        await self.queue.stop()


def _states(state: str | None) -> list[JobState] | None:
    if state is None or not state.strip():
        return None
    if state == "active":
        return [JobState.QUEUED, JobState.RUNNING]
    try:
        return [JobState(state)]
    except ValueError:
        names = ", ".join(s.value for s in JobState)
        raise ValidationError(f"unknown job state {state!r}; use {names} or active") from None
