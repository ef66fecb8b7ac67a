"""The job table on SQLite and PostgreSQL: claims, leases, fencing, idempotency, and
parallel claimers that never take one job twice."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from task_station.domain.jobs import Job, JobState
from task_station.persistence import Database
from task_station.persistence.jobs import LEASE_EXPIRED, SqlJobStore

T0 = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)


def make_job(kind: str = "test.work", **overrides: object) -> Job:
    values: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "title": f"a {kind} job",
        "payload": {"n": 1},
        "state": JobState.QUEUED,
        "created_at": T0,
        "run_after": T0,
        "max_attempts": 3,
    }
    values.update(overrides)
    return Job(**values)  # type: ignore[arg-type]


def lease(seconds: float = 30) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def store(database: Database) -> SqlJobStore:
    return SqlJobStore.on(database)


def test_enqueue_same_idempotency_key_returns_first_job(store: SqlJobStore) -> None:
    first, created = store.enqueue(make_job(idempotency_key="daily-report:2027-01-05"))
    again, created_again = store.enqueue(make_job(idempotency_key="daily-report:2027-01-05"))
    assert created and not created_again
    assert again.id == first.id
    assert [j.id for j in store.list()] == [first.id]


def test_claim_takes_due_jobs_of_known_kinds_by_priority(store: SqlJobStore) -> None:
    low, _ = store.enqueue(make_job())
    high, _ = store.enqueue(make_job(priority=5, created_at=T0 + timedelta(seconds=1)))
    store.enqueue(make_job(run_after=T0 + timedelta(minutes=1)))  # not due yet
    store.enqueue(make_job(kind="other.kind"))  # no handler here
    claimed = [store.claim("w1", ["test.work"], T0, lease()) for _ in range(3)]
    assert [c[0].id for c in claimed if c] == [high.id, low.id]
    assert claimed[2] is None
    job, token = claimed[0]  # type: ignore[misc]
    assert (job.state, job.attempts, job.worker, job.lease_until) == (
        JobState.RUNNING,
        1,
        "w1",
        lease(),
    )
    assert token and token != claimed[1][1]  # type: ignore[index]


def test_finish_with_stale_token_records_nothing(store: SqlJobStore) -> None:
    store.enqueue(make_job())
    job, stale = store.claim("w1", ["test.work"], T0, lease(1))  # type: ignore[misc]
    later = T0 + timedelta(seconds=5)
    reaped = store.reap_expired(later)
    assert [(j.id, j.state, j.error) for j in reaped] == [(job.id, JobState.QUEUED, LEASE_EXPIRED)]
    again, fresh = store.claim("w2", ["test.work"], later, later + timedelta(seconds=30))  # type: ignore[misc]
    assert again.id == job.id and again.attempts == 2
    assert store.finish(job.id, stale, JobState.SUCCEEDED, later, result={"x": 1}) is None
    assert not store.record_step(job.id, stale, "sent", True)
    assert store.heartbeat({job.id: stale}, later) == {job.id: "lost"}
    done = store.finish(job.id, fresh, JobState.SUCCEEDED, later, result={"x": 2})
    assert done is not None and done.state is JobState.SUCCEEDED and done.result == {"x": 2}


def test_reap_fails_job_out_of_attempts_and_cancels_cancelled_one(store: SqlJobStore) -> None:
    spent, _ = store.enqueue(make_job(max_attempts=1))
    asked, _ = store.enqueue(make_job())
    store.claim("w1", ["test.work"], T0, lease(1))
    store.claim("w1", ["test.work"], T0, lease(1))
    store.cancel(asked.id, T0)
    reaped = {j.id: j for j in store.reap_expired(T0 + timedelta(seconds=2))}
    assert reaped[spent.id].state is JobState.FAILED
    assert "the last attempt was lost" in (reaped[spent.id].error or "")
    assert reaped[asked.id].state is JobState.CANCELLED


def test_cancel_queued_ends_it_and_running_asks_worker(store: SqlJobStore) -> None:
    waiting, _ = store.enqueue(make_job(run_after=T0 + timedelta(hours=1)))
    running, _ = store.enqueue(make_job())
    _, token = store.claim("w1", ["test.work"], T0, lease())  # type: ignore[misc]
    assert store.heartbeat({running.id: token}, lease(60)) == {running.id: "ok"}
    cancelled = store.cancel(waiting.id, T0)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    asked = store.cancel(running.id, T0)
    assert asked is not None and asked.state is JobState.RUNNING and asked.cancel_requested
    assert store.heartbeat({running.id: token}, lease(60)) == {running.id: "cancel"}
    assert store.cancel("no-such-job", T0) is None


def test_record_step_and_retry_keep_steps_for_next_attempt(store: SqlJobStore) -> None:
    store.enqueue(make_job())
    job, token = store.claim("w1", ["test.work"], T0, lease())  # type: ignore[misc]
    assert store.record_step(job.id, token, "sent", {"message_id": 7})
    assert store.retry_later(job.id, token, T0 + timedelta(seconds=2), "boom") is not None
    assert store.claim("w1", ["test.work"], T0, lease()) is None  # backing off
    again, _ = store.claim("w1", ["test.work"], T0 + timedelta(seconds=2), lease(60))  # type: ignore[misc]
    assert again.steps == {"sent": {"message_id": 7}} and again.error == "boom"


def test_release_gives_job_back_without_counting_attempt(store: SqlJobStore) -> None:
    store.enqueue(make_job())
    job, token = store.claim("w1", ["test.work"], T0, lease())  # type: ignore[misc]
    released = store.release(job.id, token, T0)
    assert released is not None and released.state is JobState.QUEUED
    assert released.attempts == 0


def test_parallel_claimers_never_take_a_job_twice(database: Database) -> None:
    """Four stations (engines of their own), two threads each, race for 120 jobs."""
    jobs = 120
    store = SqlJobStore.on(database)
    for _ in range(jobs):
        store.enqueue(make_job())
    url = database.engine.url.render_as_string(hide_password=False)
    stations = [Database(url) for _ in range(4)]
    taken: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def claimer(station: Database, name: str) -> None:
        mine = SqlJobStore.on(station)
        start.wait()
        while (claimed := mine.claim(name, ["test.work"], T0, lease())) is not None:
            job, token = claimed
            assert mine.finish(job.id, token, JobState.SUCCEEDED, T0) is not None
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=claimer, args=(stations[i % 4], f"w{i}")) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for station in stations:
            station.dispose()
    assert len(taken) == jobs
    assert Counter(taken).most_common(1)[0][1] == 1
    assert {j.state for j in store.list(limit=500)} == {JobState.SUCCEEDED}
