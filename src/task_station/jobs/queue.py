"""The persistent job queue: long or outgoing work kept in the station's database.

Why a table of our own rather than a library
--------------------------------------------
The queue must live in the station's own database, which is SQLite by default and
PostgreSQL when the trader says so, and must survive a restart of a desktop program.
The well-kept Python queues do not fit both: procrastinate, pgqueuer, pq and oban are
PostgreSQL-only (LISTEN/NOTIFY, PL/pgSQL); celery, dramatiq, arq, rq, saq and taskiq
need a broker (Redis, RabbitMQ) that a desktop station does not have; huey's SQL
storage goes through peewee (a second ORM beside SQLAlchemy, its own schema outside
Alembic, thread/process consumers outside our asyncio loop, no leases); the small
SQLite-or-SQL queues on PyPI (litequeue, persist-queue, gigq, firm-queue, dbworker,
alchemical-queues) are single-backend or months old. A table with a lease is about
300 lines here, rides the station's migrations, engine, Decimal-safe JSON and
bus, and does what pg-boss does for the spec: the claim is one atomic statement
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite; see
``persistence.jobs``).

How it behaves
--------------
- ``register(kind, handler)`` says how to run a kind here; a worker only claims the
  kinds it has handlers for (a command-line process that only sends notifications
  never takes a backtest).
- ``enqueue`` stores the job (an ``idempotency_key`` makes it safe to repeat: the same
  key always names the same one job) and wakes the dispatcher.
- Up to ``concurrency`` handlers run at once, as tasks on the station's loop (the
  database calls go to threads, so a busy database never stalls the bots). CPU-heavy
  handlers hand their work to ``jobs.workers.WorkerPool`` processes.
- A running job holds a lease that a heartbeat renews every third of
  ``lease_seconds``. A job whose worker died (killed station, lost machine) is taken
  back when its lease ran out, by any worker, and runs again.
- A failed attempt is retried after an exponential back-off (``domain.jobs
  .backoff_delay``) until ``max_attempts``; errors another attempt cannot fix
  (``domain.jobs.PERMANENT_ERRORS``: bad input, configuration, a locked vault) fail it
  at once.
- Delivery is at least once; effects are made exactly once through the job row: every
  write of an attempt is fenced by its claim token (a reclaimed attempt's worker can
  no longer record anything), and ``JobContext.once(name, effect)`` records a completed
  effect in the row so that a later attempt skips it. (Only a crash between an outside
  effect and that record, a few milliseconds, can repeat it; receivers get the job id
  to deduplicate.)
- Progress and every change of state are bus events (``JobProgressed``,
  ``JobChanged``): the GUI, ``/ws`` and the command line all see them.
- ``cancel`` ends a queued job at once; a running one is told through its next
  heartbeat (at once when it runs in this process) and its handler task is cancelled.
- ``stop`` hands the jobs running here back to the queue (the attempt is not counted),
  so they run again after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from task_station.domain.clock import Clock
from task_station.domain.errors import NotFoundError, ValidationError
from task_station.domain.jobs import (
    Job,
    JobChanged,
    JobProgressed,
    JobState,
    backoff_delay,
    is_permanent,
)
from task_station.engine.bus import EventBus
from task_station.jobs.workers import describe_error

log = logging.getLogger(__name__)

#: A handler's result is stored as the job's result (a JSON object), or nothing.
JobResult = Mapping[str, Any] | None


class JobStore(Protocol):
    """Where jobs are kept (``persistence.jobs.SqlJobStore``)."""

    def enqueue(self, job: Job) -> tuple[Job, bool]: ...

    def get(self, job_id: str) -> Job | None: ...

    def cancel(self, job_id: str, now: datetime) -> Job | None: ...

    def claim(
        self, worker: str, kinds: Sequence[str], now: datetime, lease_until: datetime
    ) -> tuple[Job, str] | None: ...

    def heartbeat(self, leases: Mapping[str, str], lease_until: datetime) -> dict[str, str]: ...

    def set_progress(self, job_id: str, token: str, progress: float, text: str | None) -> bool: ...

    def record_step(self, job_id: str, token: str, name: str, value: object) -> bool: ...

    def finish(
        self,
        job_id: str,
        token: str,
        state: JobState,
        now: datetime,
        *,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Job | None: ...

    def retry_later(
        self, job_id: str, token: str, run_after: datetime, error: str
    ) -> Job | None: ...

    def release(self, job_id: str, token: str, now: datetime) -> Job | None: ...

    def reap_expired(self, now: datetime) -> list[Job]: ...


class JobLost(Exception):
    """This worker no longer holds the job (reclaimed after its lease ran out, or ended
    elsewhere): stop without recording anything."""


Handler = Callable[["JobContext"], Awaitable[JobResult]]


@dataclass(frozen=True, slots=True)
class Registration:
    """How this station runs one kind of job."""

    kind: str
    handler: Handler
    max_attempts: int = 5
    timeout: float | None = None
    backoff_base: float = 2.0
    backoff_cap: float = 600.0


class JobContext:
    """What a handler gets: its job, progress reporting, cancellation and ``once``."""

    def __init__(self, queue: JobQueue, job: Job, token: str) -> None:
        self.job = job
        self._queue = queue
        self._token = token
        self._steps = dict(job.steps)
        self._saved_at = float("-inf")
        self.cancel_requested = False
        self.lost = False
        self.finishing = False  # the handler returned: its outcome is being recorded

    @property
    def attempt(self) -> int:
        """This attempt's number, from 1."""
        return self.job.attempts

    def should_stop(self) -> bool:
        """True once the job was cancelled or lost (for ``WorkerPool`` jobs)."""
        return self.cancel_requested or self.lost

    def progress(self, done: int, total: int, message: str | None = None) -> None:
        """Report ``done`` of ``total`` (published at once, stored twice a second)."""
        self._queue.publish_progress(self.job, done, total, message)
        tick = time.monotonic()
        if done >= total or tick - self._saved_at >= self._queue.progress_save_seconds:
            self._saved_at = tick
            fraction = min(1.0, max(0.0, done / total)) if total > 0 else 0.0
            self._queue.save_progress(self.job.id, self._token, fraction, message)

    async def once(self, name: str, effect: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``effect`` unless an earlier attempt of this job completed it; record its
        (JSON) result in the job row, fenced by this attempt's claim. Raises ``JobLost``
        when the job is no longer this worker's."""
        if name in self._steps:
            log.info("job %s: %s was done by an earlier attempt; not repeated", self.job.id, name)
            return self._steps[name]
        value = await effect()
        json.dumps(value)  # a step's record must be JSON: fail here, not in the driver
        recorded = await asyncio.to_thread(
            self._queue.store.record_step, self.job.id, self._token, name, value
        )
        if not recorded:
            self.lost = True
            raise JobLost(f"job {self.job.id} was taken back while it ran")
        self._steps[name] = value
        return value


@dataclass(eq=False)
class _Running:
    job: Job
    token: str
    context: JobContext
    task: asyncio.Task[None]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobQueue:
    """Enqueue jobs and run the registered kinds on this station's loop.

    Parameters
    ----------
    store, bus, clock
        The jobs table, the bus that hears about every change, the station's time.
    concurrency
        Handlers running at once here.
    lease_seconds
        How long a claimed job stays this worker's without a heartbeat.
    poll_seconds
        How often an idle worker looks for due jobs (an enqueue here wakes it at once;
        jobs queued by other processes and retries that come due wait at most this).
    """

    def __init__(
        self,
        store: JobStore,
        bus: EventBus,
        clock: Clock,
        *,
        concurrency: int = 4,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("a job queue needs at least one worker")
        self.store = store
        self.bus = bus
        self.clock = clock
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.progress_save_seconds = 0.5
        self.worker_id = worker_id or default_worker_id()
        self._handlers: dict[str, Registration] = {}
        self._running: dict[str, _Running] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeup: asyncio.Event | None = None
        self._halt: asyncio.Event | None = None
        self._next_reap = float("-inf")
        self._stopping = False
        self._background: set[asyncio.Task[Any]] = set()

    # -- configuration ------------------------------------------------------------------

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        timeout: float | None = None,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
    ) -> None:
        """Run jobs of ``kind`` with ``handler`` here. ``max_attempts`` is the default
        for jobs of this kind; ``timeout`` (seconds) fails an attempt that runs longer;
        back-off after failed attempt n is ``backoff_base * 2**(n-1)``, at most
        ``backoff_cap`` seconds."""
        _check_kind(kind)
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self._handlers[kind] = Registration(
            kind, handler, max_attempts, timeout, backoff_base, backoff_cap
        )
        self._wake()

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    @property
    def running(self) -> list[str]:
        """Ids of the jobs running in this process."""
        return list(self._running)

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    # -- producing ----------------------------------------------------------------------

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
        """Queue a job of ``kind`` (due after ``delay`` seconds) and return it; with an
        ``idempotency_key`` already used, return that job and queue nothing."""
        _check_kind(kind)
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
            raise ValidationError("an idempotency key has 1 to 255 characters")
        registered = self._handlers.get(kind)
        attempts = max_attempts or (registered.max_attempts if registered else 5)
        if attempts < 1:
            raise ValidationError(f"max_attempts must be at least 1, got {attempts}")
        document = dict(payload or {})
        try:
            json.dumps(document, default=_decimal_only)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"a job's payload must be a JSON object: {exc}") from None
        now = self.clock.now()
        job = Job(
            id=str(uuid.uuid4()),
            kind=kind,
            title=(title or kind)[:255],
            payload=document,
            state=JobState.QUEUED,
            created_at=now,
            run_after=now + timedelta(seconds=max(0.0, delay)),
            max_attempts=attempts,
            priority=priority,
            idempotency_key=idempotency_key,
            created_by=created_by,
        )
        stored, created = self.store.enqueue(job)
        if created:
            log.info("job %s queued: %s (%s)", stored.id, stored.title, kind)
            self._changed(stored)
            self._wake()
        return stored

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job, or ask a running one to stop (None: unknown job)."""
        before = self.store.get(job_id)
        job = self.store.cancel(job_id, self.clock.now())
        if job is None:
            return None
        if before is not None and before.state is JobState.QUEUED and job.state.ended:
            log.info("job %s cancelled before it ran", job_id)
            self._changed(job)
        running = self._running.get(job_id)
        if running is not None and job.cancel_requested:
            running.context.cancel_requested = True
            running.task.cancel()
        return job

    async def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """Wait until the job ended (``TimeoutError`` after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            job = await asyncio.to_thread(self.store.get, job_id)
            if job is None:
                raise NotFoundError(f"job {job_id} does not exist")
            if job.state.ended:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} did not end within {timeout:.0f} s")
            await asyncio.sleep(0.05)

    # -- running ------------------------------------------------------------------------

    def start(self) -> None:
        """Start claiming and running jobs; call on the station's loop, once."""
        if self._tasks:
            return
        self._stopping = False
        self._wakeup = asyncio.Event()
        self._halt = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="job-queue-dispatch"),
            asyncio.create_task(self._heartbeat(), name="job-queue-heartbeat"),
        ]
        log.info("job queue started: worker %s, %d at once, kinds %s",
                 self.worker_id, self.concurrency, ", ".join(self.kinds) or "none")  # fmt: skip

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; hand the jobs running here back to the queue."""
        if not self._tasks:
            return
        self._stopping = True
        if self._halt is not None:
            self._halt.set()
        self._wake()  # the loops end at their next turn; a database call in flight ends first
        running = list(self._running.values())
        for entry in running:
            if not entry.context.finishing:  # an attempt being recorded is let finish
                entry.task.cancel()
        tasks = [*self._tasks, *(r.task for r in running), *self._background]
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        self._tasks = []

    def publish_progress(self, job: Job, done: int, total: int, message: str | None) -> None:
        self.bus.publish(JobProgressed(self.clock.now(), job.id, job.kind, done, total, message))

    def save_progress(self, job_id: str, token: str, fraction: float, text: str | None) -> None:
        self._in_background(
            asyncio.to_thread(self.store.set_progress, job_id, token, fraction, text)
        )

    # -- internals ----------------------------------------------------------------------

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def _in_background(self, work: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("job queue: a progress update failed: %s", task.exception())

    def _changed(self, job: Job) -> None:
        self.bus.publish(
            JobChanged(
                self.clock.now(), job.id, job.kind, job.title, job.state.value,
                job.attempts, job.max_attempts, job.error,
            )
        )  # fmt: skip

    async def _dispatch(self) -> None:
        assert self._wakeup is not None
        while not self._stopping:
            self._wakeup.clear()
            try:
                if time.monotonic() >= self._next_reap:  # a few times per lease, not per poll
                    self._next_reap = time.monotonic() + min(self.lease_seconds / 3, 10.0)
                    await self._reap()
                await self._claim_free_slots()
            except Exception as exc:
                log.warning("job queue: the database could not be reached (%s); trying again "
                            "in %.0f s", describe_error(exc), self.poll_seconds)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)

    async def _reap(self) -> None:
        for job in await asyncio.to_thread(self.store.reap_expired, self.clock.now()):
            log.warning("job %s (%s): %s; it is %s now", job.id, job.title, job.error or
                        "its lease ran out", job.state.value)  # fmt: skip
            self._changed(job)

    async def _claim_free_slots(self) -> None:
        while len(self._running) < self.concurrency and not self._stopping and self._handlers:
            now = self.clock.now()
            lease_until = now + timedelta(seconds=self.lease_seconds)
            claimed = await asyncio.to_thread(
                self.store.claim, self.worker_id, self.kinds, now, lease_until
            )
            if claimed is None:
                return
            job, token = claimed
            if self._stopping:  # stop() began while we claimed: give it straight back
                self.store.release(job.id, token, self.clock.now())
                return
            context = JobContext(self, job, token)
            task = asyncio.create_task(self._run(job, token, context), name=f"job-{job.id}")
            self._running[job.id] = _Running(job, token, context, task)
            task.add_done_callback(functools.partial(self._ran, job.id))

    def _ran(self, job_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self._wake()

    async def _heartbeat(self) -> None:
        assert self._halt is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._halt.wait(), self.lease_seconds / 3)
            if self._stopping:
                return
            leases = {job_id: r.token for job_id, r in self._running.items()}
            if not leases:
                continue
            lease_until = self.clock.now() + timedelta(seconds=self.lease_seconds)
            try:
                answers = await asyncio.to_thread(self.store.heartbeat, leases, lease_until)
            except Exception as exc:
                log.warning("job queue: leases not renewed (%s)", describe_error(exc))
                continue
            for job_id, answer in answers.items():
                running = self._running.get(job_id)
                if running is None or answer == "ok":
                    continue
                if answer == "cancel":
                    running.context.cancel_requested = True
                else:
                    running.context.lost = True
                running.task.cancel()

    async def _run(self, job: Job, token: str, context: JobContext) -> None:
        registration = self._handlers[job.kind]
        log.info("job %s started: %s (attempt %d of %d)",
                 job.id, job.title, job.attempts, job.max_attempts)  # fmt: skip
        self._changed(job)
        try:
            try:
                result = await _within(registration.handler(context), registration.timeout)
            finally:
                context.finishing = True
        except asyncio.CancelledError:
            self._interrupted(job, token, context)
            return
        except JobLost:
            log.warning("job %s was taken back by another worker; this attempt's end is "
                        "not recorded", job.id)  # fmt: skip
            return
        except _AttemptTimedOut as exc:
            await self._failed(job, token, registration, str(exc), permanent=False)
            return
        except Exception as exc:
            if not is_permanent(exc):
                log.debug("job %s attempt %d failed", job.id, job.attempts, exc_info=True)
            await self._failed(
                job, token, registration, describe_error(exc), permanent=is_permanent(exc)
            )
            return
        await self._succeeded(job, token, result)

    def _interrupted(self, job: Job, token: str, context: JobContext) -> None:
        """The handler's task was cancelled: by the trader, a lost lease or ``stop``.
        The store is written here without awaiting (a second cancel must not stop it)."""
        now = self.clock.now()
        if context.lost:
            log.warning("job %s was taken back while it ran; this attempt stopped", job.id)
            return
        if context.cancel_requested:
            ended = self.store.finish(job.id, token, JobState.CANCELLED, now)
            if ended is not None:
                log.info("job %s cancelled while it ran", job.id)
                self._changed(ended)
            return
        released = self.store.release(job.id, token, now)
        if released is not None:
            log.info("job %s handed back to the queue: the station is stopping", job.id)
            self._changed(released)

    async def _failed(
        self, job: Job, token: str, registration: Registration, error: str, *, permanent: bool
    ) -> None:
        now = self.clock.now()
        if permanent or job.attempts >= job.max_attempts:
            why = "" if permanent else f" after {job.attempts} attempt(s)"
            ended = await asyncio.to_thread(
                self.store.finish, job.id, token, JobState.FAILED, now, error=error
            )
            if ended is not None:
                log.warning("job %s (%s) failed%s: %s", job.id, job.title, why, error)
                self._changed(ended)
            return
        delay = backoff_delay(
            job.attempts, base=registration.backoff_base, cap=registration.backoff_cap
        )
        again = await asyncio.to_thread(self.store.retry_later, job.id, token, now + delay, error)
        if again is not None:
            log.warning("job %s (%s) attempt %d of %d failed: %s; next try in %.0f s",
                        job.id, job.title, job.attempts, job.max_attempts, error,
                        delay.total_seconds())  # fmt: skip
            self._changed(again)

    async def _succeeded(self, job: Job, token: str, result: JobResult) -> None:
        document = None if result is None else dict(result)
        ended = await asyncio.to_thread(
            self.store.finish, job.id, token, JobState.SUCCEEDED, self.clock.now(),
            result=document,
        )  # fmt: skip
        if ended is None:
            log.warning("job %s finished but was no longer this worker's; not recorded", job.id)
            return
        log.info("job %s succeeded: %s", job.id, job.title)
        self._changed(ended)


def _decimal_only(value: object) -> str:
    """JSON for a payload: exact Decimals are kept (the column tags them), nothing else."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} values cannot be stored; use text or numbers")


class _AttemptTimedOut(Exception):
    """An attempt ran past its kind's ``timeout``."""


async def _within(work: Awaitable[JobResult], timeout: float | None) -> JobResult:
    if timeout is None:
        return await work
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise _AttemptTimedOut(f"the attempt took longer than {timeout:g} s") from None


def _check_kind(kind: str) -> None:
    if (
        not kind
        or len(kind) > 64
        or not kind.replace(".", "").replace("_", "").replace("-", "").isalnum()
    ):
        raise ValidationError(f"job kind {kind!r} must be 1-64 letters, digits, '.', '_' or '-'")
