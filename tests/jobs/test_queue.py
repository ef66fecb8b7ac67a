"""The persistent job queue on a real database: runs, progress, retries with back-off,
permanent failures, cancels (here and from another process), hand-back on stop, and
parallel queues on PostgreSQL that never run a job twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from task_station.domain.clock import SystemClock
from task_station.domain.errors import ValidationError
from task_station.domain.events import Event
from task_station.domain.jobs import JobChanged, JobProgressed, JobState
from task_station.engine.bus import EventBus
from task_station.jobs.queue import JobContext, JobQueue
from task_station.persistence import Database
from task_station.persistence.jobs import SqlJobStore
from tests.persistence.conftest import make_database, pg_admin  # noqa: F401  (fixture)

TIMEOUT = 10.0


@pytest.fixture
def database(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    with make_database("sqlite", tmp_path, request) as database:
        yield database


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def heard(bus: EventBus) -> list[Event]:
    events: list[Event] = []
    bus.subscribe(JobChanged, events.append)
    bus.subscribe(JobProgressed, events.append)
    return events


def make_queue(database: Database, bus: EventBus, **options: Any) -> JobQueue:
    options = {"lease_seconds": 3.0, "poll_seconds": 0.05, **options}
    return JobQueue(SqlJobStore.on(database), bus, SystemClock(), **options)


@pytest.fixture
async def queue(database: Database, bus: EventBus) -> AsyncIterator[JobQueue]:
    made = make_queue(database, bus)
    yield made
    await made.stop()


def states_of(events: list[Event], job_id: str) -> list[str]:
    return [e.state for e in events if isinstance(e, JobChanged) and e.job_id == job_id]


async def test_enqueued_job_runs_once_with_progress_on_bus(
    queue: JobQueue, heard: list[Event]
) -> None:
    calls: list[dict[str, Any]] = []

    async def handler(ctx: JobContext) -> dict[str, Any]:
        calls.append(ctx.job.payload)
        for done in range(1, 4):
            ctx.progress(done, 3, f"step {done}")
        return {"total": ctx.job.payload["n"] * 2}

    queue.register("test.double", handler)
    queue.start()
    job = queue.enqueue("test.double", {"n": 21}, title="Double 21")
    ended = await queue.wait(job.id, TIMEOUT)
    assert (ended.state, ended.result, ended.attempts, ended.progress) == (
        JobState.SUCCEEDED,
        {"total": 42},
        1,
        1.0,
    )
    assert calls == [{"n": 21}]
    assert states_of(heard, job.id) == ["queued", "running", "succeeded"]
    progress = [(e.done, e.total, e.message) for e in heard if isinstance(e, JobProgressed)]
    assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def test_failing_attempts_retry_with_exponential_backoff(
    queue: JobQueue, heard: list[Event]
) -> None:
    started: list[float] = []

    async def flaky(ctx: JobContext) -> None:
        started.append(time.monotonic())
        if ctx.attempt < 3:
            raise RuntimeError(f"exchange busy (attempt {ctx.attempt})")

    queue.register("test.flaky", flaky, backoff_base=0.2)
    queue.start()
    job = queue.enqueue("test.flaky")
    ended = await queue.wait(job.id, TIMEOUT)
    assert ended.state is JobState.SUCCEEDED and ended.attempts == 3
    first_gap, second_gap = started[1] - started[0], started[2] - started[1]
    assert first_gap >= 0.2 and second_gap >= 0.4  # 0.2 s, then doubled
    assert states_of(heard, job.id) == [
        "queued",
        "running",
        "queued",
        "running",
        "queued",
        "running",
        "succeeded",
    ]


async def test_attempts_exhausted_fail_with_last_error(queue: JobQueue) -> None:
    async def broken(ctx: JobContext) -> None:
        raise RuntimeError(f"still down (attempt {ctx.attempt})")

    queue.register("test.broken", broken, max_attempts=2, backoff_base=0.01)
    queue.start()
    ended = await queue.wait(queue.enqueue("test.broken").id, TIMEOUT)
    assert (ended.state, ended.attempts) == (JobState.FAILED, 2)
    assert ended.error == "RuntimeError: still down (attempt 2)"


async def test_permanent_error_fails_at_first_attempt(queue: JobQueue) -> None:
    async def refuses(ctx: JobContext) -> None:
        raise ValidationError("the report needs a date range; set from and to")

    queue.register("test.refuses", refuses)
    queue.start()
    ended = await queue.wait(queue.enqueue("test.refuses").id, TIMEOUT)
    assert (ended.state, ended.attempts) == (JobState.FAILED, 1)
    assert ended.error == "the report needs a date range; set from and to"


async def test_cancel_running_job_stops_its_handler(queue: JobQueue, heard: list[Event]) -> None:
    entered, interrupted = asyncio.Event(), asyncio.Event()

    async def endless(ctx: JobContext) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            interrupted.set()
            raise

    queue.register("test.endless", endless)
    queue.start()
    job = queue.enqueue("test.endless")
    await asyncio.wait_for(entered.wait(), TIMEOUT)
    assert queue.cancel(job.id) is not None
    ended = await queue.wait(job.id, TIMEOUT)
    assert ended.state is JobState.CANCELLED and interrupted.is_set()
    assert states_of(heard, job.id)[-1] == "cancelled"


async def test_cancel_from_another_process_reaches_worker_through_heartbeat(
    database: Database, bus: EventBus
) -> None:
    queue = make_queue(database, bus, lease_seconds=0.3)
    entered = asyncio.Event()

    async def endless(ctx: JobContext) -> None:
        entered.set()
        await asyncio.Event().wait()

    queue.register("test.endless", endless)
    queue.start()
    try:
        job = queue.enqueue("test.endless")
        await asyncio.wait_for(entered.wait(), TIMEOUT)
        elsewhere = SqlJobStore.on(database)  # what `task-station jobs cancel` does
        elsewhere.cancel(job.id, SystemClock().now())
        ended = await queue.wait(job.id, TIMEOUT)
        assert ended.state is JobState.CANCELLED
    finally:
        await queue.stop()


async def test_cancel_queued_job_never_runs(queue: JobQueue) -> None:
    ran: list[str] = []

    async def handler(ctx: JobContext) -> None:
        ran.append(ctx.job.id)

    queue.register("test.later", handler)
    job = queue.enqueue("test.later", delay=60)
    queue.start()
    cancelled = queue.cancel(job.id)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    await asyncio.sleep(0.2)
    assert ran == []


async def test_stop_hands_running_job_back_for_next_start(
    database: Database, bus: EventBus
) -> None:
    entered = asyncio.Event()

    async def slow(ctx: JobContext) -> dict[str, int]:
        entered.set()
        await asyncio.sleep(60)
        return {}

    first = make_queue(database, bus)
    first.register("test.slow", slow)
    first.start()
    job = first.enqueue("test.slow")
    await asyncio.wait_for(entered.wait(), TIMEOUT)
    await first.stop()
    handed_back = SqlJobStore.on(database).get(job.id)
    assert handed_back is not None
    assert (handed_back.state, handed_back.attempts) == (JobState.QUEUED, 0)

    async def quick(ctx: JobContext) -> dict[str, int]:
        return {"attempt": ctx.attempt}

    second = make_queue(database, bus)
    second.register("test.slow", quick)
    second.start()
    try:
        ended = await second.wait(job.id, TIMEOUT)
    finally:
        await second.stop()
    assert (ended.state, ended.result) == (JobState.SUCCEEDED, {"attempt": 1})


async def test_same_idempotency_key_queues_one_job(queue: JobQueue, heard: list[Event]) -> None:
    first = queue.enqueue("test.any", idempotency_key="download:BTC/USDT:2026")
    again = queue.enqueue("test.any", idempotency_key="download:BTC/USDT:2026")
    assert again.id == first.id
    assert states_of(heard, first.id) == ["queued"]


@pytest.mark.postgres
async def test_parallel_queues_on_postgres_never_run_a_job_twice(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Three stations (engines of their own), three handlers at once each, 90 jobs."""
    effects: list[str] = []

    async def effect(ctx: JobContext) -> None:
        await asyncio.sleep(0.002)
        effects.append(ctx.job.id)

    with make_database("postgres", tmp_path, request) as database:
        url = database.engine.url.render_as_string(hide_password=False)
        stations = [Database(url) for _ in range(3)]
        queues = [make_queue(s, EventBus(), concurrency=3) for s in stations]
        for queue in queues:
            queue.register("test.effect", effect)
        ids = [queues[0].enqueue("test.effect").id for _ in range(90)]
        for queue in queues:
            queue.start()
        try:
            ended = [await queues[0].wait(job_id, TIMEOUT) for job_id in ids]
        finally:
            for queue in queues:
                await queue.stop()
            for station in stations:
                station.dispose()
    assert {job.state for job in ended} == {JobState.SUCCEEDED}
    assert len(effects) == 90 and Counter(effects).most_common(1)[0][1] == 1
    assert len({job.worker for job in ended}) > 1  # the work really was shared
