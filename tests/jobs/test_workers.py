"""The worker pool with real spawned processes: progress, results, failures, cancels."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from task_station.domain.errors import ConflictError
from task_station.jobs.workers import JobOutcome, JobStatus, WorkerPool
from tests.jobs import jobs

TIMEOUT = 30.0


class Recorder:
    """A listener that keeps what it heard, in order (shared ``log`` across jobs)."""

    def __init__(self, log: list[tuple[str, object]] | None = None) -> None:
        self.log = log if log is not None else []
        self.progress: list[tuple[int, int]] = []
        self.outcome: JobOutcome | None = None
        self._ended = asyncio.Event()

    def job_started(self, job_id: str) -> None:
        self.log.append((job_id, "started"))

    def job_progressed(self, job_id: str, done: int, total: int) -> None:
        self.progress.append((done, total))

    def job_ended(self, outcome: JobOutcome) -> None:
        self.log.append((outcome.job_id, outcome.status))
        self.outcome = outcome
        self._ended.set()

    async def outcome_after(self, timeout: float = TIMEOUT) -> JobOutcome:
        await asyncio.wait_for(self._ended.wait(), timeout)
        assert self.outcome is not None
        return self.outcome

    async def first_progress(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not self.progress:
            assert time.monotonic() < deadline, "no progress from the worker"
            await asyncio.sleep(0.01)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    workers = WorkerPool(2, cancel_grace=0.3)
    yield workers
    await workers.aclose()


async def test_job_progress_arrives_in_order_throttled_then_its_result(pool: WorkerPool) -> None:
    heard = Recorder()
    pool.submit("a", jobs.count, 300, heard)
    outcome = await heard.outcome_after()
    assert outcome == JobOutcome("a", JobStatus.FINISHED, result=600)
    dones = [done for done, _ in heard.progress]
    assert dones == sorted(dones) and heard.progress[-1] == (300, 300)
    assert len(dones) < 30  # ~10 a second, not one per step
    assert heard.log == [("a", "started"), ("a", JobStatus.FINISHED)]


async def test_failing_job_ends_failed_with_its_message_and_the_next_job_runs(
    pool: WorkerPool,
) -> None:
    failing, next_one = Recorder(), Recorder()
    pool.submit("bad", jobs.fail, "the file is corrupt", failing)
    outcome = await failing.outcome_after()
    assert outcome.status is JobStatus.FAILED
    assert outcome.error == "ValueError: the file is corrupt"
    pool.submit("good", jobs.count, 5, next_one)
    assert (await next_one.outcome_after()).result == 10


async def test_job_that_cannot_be_sent_to_a_worker_ends_failed(pool: WorkerPool) -> None:
    heard = Recorder()
    pool.submit("p", jobs.count, lambda: 3, heard)  # a lambda does not pickle
    outcome = await heard.outcome_after(timeout=1)
    assert outcome.status is JobStatus.FAILED
    assert outcome.error is not None and "could not start" in outcome.error
    assert pool.running == [] and heard.log == [("p", JobStatus.FAILED)]


async def test_killed_worker_ends_failed_naming_the_signal(pool: WorkerPool) -> None:
    heard = Recorder()
    pool.submit("k", jobs.kill_self, None, heard)
    outcome = await heard.outcome_after()
    assert outcome.status is JobStatus.FAILED
    assert outcome.error is not None and "killed by SIGKILL" in outcome.error


async def test_unpicklable_result_ends_failed(pool: WorkerPool) -> None:
    heard = Recorder()
    pool.submit("u", jobs.unpicklable, None, heard)
    outcome = await heard.outcome_after()
    assert outcome.status is JobStatus.FAILED
    assert outcome.error is not None and "could not be sent back" in outcome.error


async def test_cancel_running_job_ends_cancelled_quickly_and_its_process_is_gone(
    pool: WorkerPool,
) -> None:
    heard = Recorder()
    pool.submit("long", jobs.count, 100_000, heard)  # 100 s unless cancelled
    await heard.first_progress()
    pid = pool.pid("long")
    assert pid is not None
    started = time.monotonic()
    assert pool.cancel("long")
    outcome = await heard.outcome_after(timeout=5)
    assert outcome.status is JobStatus.CANCELLED and outcome.error is None
    assert time.monotonic() - started < 2
    assert gone(pid)
    assert not pool.cancel("long")  # it is over


async def test_cancelled_job_that_ignores_the_stop_is_killed(
    pool: WorkerPool, tmp_path: Path
) -> None:
    heard = Recorder()
    pid_file = tmp_path / "pid"
    pool.submit("deaf", jobs.deaf, str(pid_file), heard)
    await heard.first_progress()
    pool.cancel("deaf")
    outcome = await heard.outcome_after(timeout=10)  # grace 0.3 s, SIGTERM ignored, SIGKILL
    assert outcome.status is JobStatus.CANCELLED
    assert gone(int(pid_file.read_text()))


async def test_jobs_beyond_max_workers_wait_their_turn_and_a_queued_cancel_never_starts() -> None:
    pool = WorkerPool(1)
    log: list[tuple[str, object]] = []
    first, queued, last = Recorder(log), Recorder(log), Recorder(log)
    try:
        pool.submit("first", jobs.count, 200, first)
        pool.submit("queued", jobs.count, 5, queued)
        pool.submit("last", jobs.count, 5, last)
        with pytest.raises(ConflictError, match="already queued or running"):
            pool.submit("last", jobs.count, 5, Recorder())
        assert pool.running == ["first"] and pool.queued == ["queued", "last"]
        assert pool.cancel("queued")
        assert (await queued.outcome_after(timeout=0.1)).status is JobStatus.CANCELLED
        await last.outcome_after()
    finally:
        await pool.aclose()
    assert log == [
        ("first", "started"),
        ("queued", JobStatus.CANCELLED),
        ("first", JobStatus.FINISHED),
        ("last", "started"),
        ("last", JobStatus.FINISHED),
    ]


async def test_closed_pool_stops_its_jobs_silently_and_refuses_new_ones() -> None:
    pool = WorkerPool(2)
    heard = Recorder()
    pool.submit("long", jobs.count, 100_000, heard)
    await heard.first_progress()
    pid = pool.pid("long")
    assert pid is not None
    await pool.aclose()
    assert gone(pid)
    assert heard.outcome is None  # the station is stopping: nobody is told
    with pytest.raises(ConflictError, match="closed"):
        pool.submit("late", jobs.count, 1, Recorder())
