"""The job queue's table: enqueue, claim, lease, and end jobs safely from many workers.

Every state change is one short transaction, and every write a worker makes about a job
it runs is *fenced* by the claim token it got with that attempt: once the job was
reclaimed (its lease expired), cancelled or ended elsewhere, the old worker's writes
match no row and it learns that it lost the job. So however many workers, processes or
stations share the database, an attempt's outcome is recorded at most once.

Claiming is one atomic statement on both backends::

    UPDATE jobs SET state = 'running', claim_token = :new, attempts = attempts + 1, ...
    WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= :now
                AND kind IN (...) ORDER BY priority DESC, run_after, created_at
                LIMIT 1 FOR UPDATE SKIP LOCKED)
      AND state = 'queued'

On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets concurrent claimers pass over a row that
another transaction is claiming instead of waiting for it (or both taking it). SQLite
has no row locks (the clause is not rendered there): the station's SQLite transactions
start with ``BEGIN IMMEDIATE`` (see ``persistence.database``), so the single UPDATE runs
under the database's write lock and two claimers are serialized.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from task_station.domain.jobs import Job, JobState
from task_station.persistence._tx import SessionFactory
from task_station.persistence.database import Database
from task_station.persistence.models import JobRow

#: Why a job whose worker stopped renewing its lease was taken back.
LEASE_EXPIRED = "its worker stopped answering (the station stopped or was killed)"

RUNNING = JobState.RUNNING.value
QUEUED = JobState.QUEUED.value


def _to_job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        title=row.title,
        payload=dict(row.payload),
        state=JobState(row.state),
        created_at=row.created_at,
        run_after=row.run_after,
        max_attempts=row.max_attempts,
        attempts=row.attempts,
        priority=row.priority,
        idempotency_key=row.idempotency_key,
        created_by=row.created_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        lease_until=row.lease_until,
        worker=row.worker,
        cancel_requested=row.cancel_requested,
        progress=row.progress,
        progress_text=row.progress_text,
        steps=dict(row.steps or {}),
        result=None if row.result is None else dict(row.result),
        error=row.error,
    )


def _new_row(job: Job) -> JobRow:
    return JobRow(
        id=job.id,
        kind=job.kind,
        title=job.title,
        payload=dict(job.payload),
        state=job.state.value,
        priority=job.priority,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        idempotency_key=job.idempotency_key,
        created_by=job.created_by,
        created_at=job.created_at,
        run_after=job.run_after,
        cancel_requested=False,
        progress=0.0,
        steps={},
    )


class SqlJobStore:
    """The ``jobs`` table; each method is its own transaction."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @classmethod
    def on(cls, database: Database) -> SqlJobStore:
        """A store over ``database``'s engine (its connection pool is shared)."""
        return cls(sessionmaker(database.engine, expire_on_commit=False))

    # -- producers and readers ------------------------------------------------------------

    def enqueue(self, job: Job) -> tuple[Job, bool]:
        """Store ``job`` as queued; ``(job, True)``. When its idempotency key is taken,
        store nothing and return ``(the job that holds the key, False)``."""
        if job.idempotency_key is not None:
            existing = self._by_key(job.idempotency_key)
            if existing is not None:
                return existing, False
        try:
            with self._sessions.begin() as s:
                s.add(_new_row(job))
        except IntegrityError:
            # a concurrent enqueue won the key between our look and our insert
            existing = None if job.idempotency_key is None else self._by_key(job.idempotency_key)
            if existing is None:
                raise
            return existing, False
        return replace(job, state=JobState.QUEUED), True

    def get(self, job_id: str) -> Job | None:
        with self._sessions.begin() as s:
            row = s.get(JobRow, job_id)
            return None if row is None else _to_job(row)

    def list(
        self,
        *,
        limit: int = 50,
        states: Sequence[JobState] | None = None,
        kind: str | None = None,
    ) -> builtins.list[Job]:
        """Newest first."""
        query = select(JobRow)
        if states:
            query = query.where(JobRow.state.in_([s.value for s in states]))
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        query = query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit)
        with self._sessions.begin() as s:
            return [_to_job(row) for row in s.scalars(query)]

    def cancel(self, job_id: str, now: datetime) -> Job | None:
        """Cancel a queued job at once; ask a running one's worker to stop (it sees
        ``cancel_requested`` with its next heartbeat). None when the job is unknown; an
        ended job comes back unchanged."""
        with self._sessions.begin() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == QUEUED)
                .values(
                    state=JobState.CANCELLED.value,
                    cancel_requested=True,
                    finished_at=now,
                    claim_token=None,
                )
            )
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == RUNNING)
                .values(cancel_requested=True)
            )
        return self.get(job_id)

    # -- workers ------------------------------------------------------------------------

    def claim(
        self, worker: str, kinds: Sequence[str], now: datetime, lease_until: datetime
    ) -> tuple[Job, str] | None:
        """Take the next due job of one of ``kinds`` for ``worker``: the job and the
        claim token that fences this attempt's writes (None: nothing is due)."""
        if not kinds:
            return None
        token = uuid.uuid4().hex
        candidate = (
            select(JobRow.id)
            .where(JobRow.state == QUEUED, JobRow.run_after <= now, JobRow.kind.in_(list(kinds)))
            .order_by(JobRow.priority.desc(), JobRow.run_after, JobRow.created_at, JobRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claim = (
            update(JobRow)
            .where(JobRow.id == candidate, JobRow.state == QUEUED)
            .values(
                state=RUNNING,
                claim_token=token,
                worker=worker,
                attempts=JobRow.attempts + 1,
                lease_until=lease_until,
                started_at=now,
                progress=0.0,
                progress_text=None,
            )
            .returning(JobRow.id)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as s:
            claimed = s.execute(claim).scalar_one_or_none()
            if claimed is None:
                return None
            row = s.get(JobRow, claimed)
            assert row is not None
            return _to_job(row), token

    def heartbeat(self, leases: Mapping[str, str], lease_until: datetime) -> dict[str, str]:
        """Extend the leases of the running jobs ``{job id: claim token}``; answer each
        with ``ok``, ``cancel`` (the trader asked it to stop) or ``lost`` (the attempt is
        no longer this worker's: reclaimed, or ended elsewhere)."""
        answers: dict[str, str] = {}
        with self._sessions.begin() as s:
            for job_id, token in leases.items():
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.claim_token == token)
                    .where(JobRow.state == RUNNING)
                    .values(lease_until=lease_until)
                )
            if not leases:
                return answers
            rows = s.execute(
                select(JobRow.id, JobRow.state, JobRow.claim_token, JobRow.cancel_requested)
                .where(JobRow.id.in_(list(leases)))
            ).all()  # fmt: skip
            found = {row.id: row for row in rows}
            for job_id, token in leases.items():
                row = found.get(job_id)
                if row is None or row.state != RUNNING or row.claim_token != token:
                    answers[job_id] = "lost"
                else:
                    answers[job_id] = "cancel" if row.cancel_requested else "ok"
        return answers

    def set_progress(self, job_id: str, token: str, progress: float, text: str | None) -> bool:
        return self._fenced(job_id, token, progress=progress, progress_text=text)

    def record_step(self, job_id: str, token: str, name: str, value: object) -> bool:
        """Note that this attempt completed the effect ``name`` (fenced)."""
        with self._sessions.begin() as s:
            query = select(JobRow).where(
                JobRow.id == job_id, JobRow.claim_token == token, JobRow.state == RUNNING
            )
            row = s.scalars(query.with_for_update()).one_or_none()
            if row is None:
                return False
            row.steps = {**(row.steps or {}), name: value}
            return True

    def finish(
        self,
        job_id: str,
        token: str,
        state: JobState,
        now: datetime,
        *,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Job | None:
        """End the attempt ``token`` as ``state`` (succeeded, failed or cancelled);
        None when the attempt was no longer this worker's."""
        values: dict[str, Any] = {"state": state.value, "finished_at": now, "error": error}
        values.update(lease_until=None, claim_token=None)
        if result is not None:
            values["result"] = dict(result)
        if state is JobState.SUCCEEDED:
            values["progress"] = 1.0
        return self._fenced_job(job_id, token, **values)

    def retry_later(self, job_id: str, token: str, run_after: datetime, error: str) -> Job | None:
        """Put the job back in the queue, due at ``run_after`` (fenced)."""
        return self._fenced_job(
            job_id, token, state=QUEUED, run_after=run_after, error=error,
            lease_until=None, claim_token=None, worker=None,
        )  # fmt: skip

    def release(self, job_id: str, token: str, now: datetime) -> Job | None:
        """Give a job back without counting the attempt (the station is stopping)."""
        return self._fenced_job(
            job_id, token, state=QUEUED, run_after=now, attempts=JobRow.attempts - 1,
            lease_until=None, claim_token=None, worker=None,
        )  # fmt: skip

    def reap_expired(self, now: datetime) -> builtins.list[Job]:
        """Take back running jobs whose lease ran out: queued again while attempts
        remain, else failed; cancelled if the trader had asked. Returns them."""
        expired = (JobRow.state == RUNNING, JobRow.lease_until < now)
        common = {"lease_until": None, "claim_token": None, "worker": None}
        cancelled = update(JobRow).where(*expired, JobRow.cancel_requested.is_(True))
        failed = update(JobRow).where(
            *expired, JobRow.cancel_requested.is_(False), JobRow.attempts >= JobRow.max_attempts
        )
        again = update(JobRow).where(
            *expired, JobRow.cancel_requested.is_(False), JobRow.attempts < JobRow.max_attempts
        )
        ids: builtins.list[str] = []
        with self._sessions.begin() as s:
            for query, values in (
                (cancelled, {"state": JobState.CANCELLED.value, "finished_at": now}),
                (failed, {"state": JobState.FAILED.value, "finished_at": now,
                          "error": f"the last attempt was lost: {LEASE_EXPIRED}"}),
                (again, {"state": QUEUED, "run_after": now, "error": LEASE_EXPIRED}),
            ):  # fmt: skip
                stmt = query.values(**values, **common).returning(JobRow.id)
                ids.extend(s.execute(stmt.execution_options(synchronize_session=False)).scalars())
            if not ids:
                return []
            rows = s.scalars(select(JobRow).where(JobRow.id.in_(ids)))
            return [_to_job(row) for row in rows]

    # -- internals ------------------------------------------------------------------------

    def _by_key(self, key: str) -> Job | None:
        with self._sessions.begin() as s:
            row = s.scalars(select(JobRow).where(JobRow.idempotency_key == key)).one_or_none()
            return None if row is None else _to_job(row)

    def _fenced(self, job_id: str, token: str, **values: Any) -> bool:
        query = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.claim_token == token, JobRow.state == RUNNING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as s:
            return bool(s.execute(query).rowcount)  # type: ignore[attr-defined]

    def _fenced_job(self, job_id: str, token: str, **values: Any) -> Job | None:
        if not self._fenced(job_id, token, **values):
            return None
        return self.get(job_id)
