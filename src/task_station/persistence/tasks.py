"""Tasks, their triggers and actions, their runs and webhook receipts on SQL.

A task is stored as one ``tasks`` row with its ``triggers`` (kept by id across edits, so
a webhook keeps its URL and runs keep their trigger) and ``actions`` (rewritten in
order). Runs keep their log lines and each action's outcome as JSON. A webhook receipt
is the fingerprint of an accepted alert, unique per trigger: two deliveries of the same
alert, even at the same moment, insert one row, so only one of them runs the task.

``schedule_store`` is APScheduler's job store on the same database (the
``task_schedules`` table of migration 0008), so schedules survive a restart.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from task_station.domain.errors import NotFoundError
from task_station.domain.tasks import (
    Action,
    ActionKind,
    ActionOutcome,
    MissedRuns,
    RunStatus,
    Task,
    TaskRun,
    Trigger,
    TriggerKind,
)
from task_station.persistence._tx import SessionFactory, translated
from task_station.persistence.database import Database
from task_station.persistence.models import (
    ActionRow,
    RunRow,
    TaskRow,
    TriggerRow,
    WebhookReceiptRow,
)

#: The job store's table (created by migration 0008, never by APScheduler).
SCHEDULE_TABLE = "task_schedules"
_UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


class _SharedEngineJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """APScheduler's store on the station's engine: the station disposes the engine."""

    def shutdown(self) -> None:
        pass


def schedule_store(database: Database) -> Any:
    """An APScheduler job store in ``database``'s ``task_schedules`` table."""
    return _SharedEngineJobStore(engine=database.engine, tablename=SCHEDULE_TABLE)


def _trigger(row: TriggerRow) -> Trigger:
    return Trigger(TriggerKind(row.kind), dict(row.config), row.id, row.enabled, row.hook_id)


def _task(row: TaskRow, triggers: list[TriggerRow], actions: list[ActionRow]) -> Task:
    return Task(
        id=row.id,
        name=row.name,
        triggers=tuple(_trigger(t) for t in sorted(triggers, key=lambda t: t.id)),
        actions=tuple(
            Action(ActionKind(a.kind), dict(a.config))
            for a in sorted(actions, key=lambda a: a.position)
        ),
        created_at=row.created_at,
        enabled=row.enabled,
        owner=row.owner,
        description=row.description,
        missed_runs=MissedRuns(row.missed_runs),
        grace_seconds=row.grace_seconds,
        updated_at=row.updated_at,
    )


def _write_task(row: TaskRow, task: Task) -> None:
    row.name = task.name
    row.description = task.description
    row.enabled = task.enabled
    row.owner = task.owner
    row.created_at = task.created_at
    row.updated_at = task.updated_at
    row.missed_runs = task.missed_runs.value
    row.grace_seconds = task.grace_seconds


def _run(row: RunRow) -> TaskRun:
    return TaskRun(
        id=row.id,
        task_id=row.task_id,
        cause=row.cause,
        status=RunStatus(row.status),
        started_at=row.started_at,
        trigger_id=row.trigger_id,
        scheduled_for=row.scheduled_for,
        finished_at=row.finished_at,
        summary=row.output,
        logs=tuple(str(line) for line in row.logs or ()),
        outcomes=tuple(ActionOutcome.from_mapping(o) for o in row.outcomes or ()),
        error=row.error,
        payload=row.payload,
    )


def _write_run(row: RunRow, run: TaskRun) -> None:
    row.task_id = run.task_id
    row.trigger_id = run.trigger_id
    row.cause = run.cause
    row.status = run.status.value
    row.started_at = run.started_at
    row.scheduled_for = run.scheduled_for
    row.finished_at = run.finished_at
    row.output = run.summary
    row.logs = list(run.logs)
    row.outcomes = [o.to_mapping() for o in run.outcomes]
    row.error = run.error
    row.payload = run.payload


class SqlTaskStore:
    """Tasks and their runs; each method is its own transaction."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @classmethod
    def on(cls, database: Database) -> SqlTaskStore:
        """A store over ``database``'s engine (its connection pool is shared)."""
        return cls(sessionmaker(database.engine, expire_on_commit=False))

    # -- tasks -------------------------------------------------------------------------

    def add(self, task: Task) -> Task:
        """Insert ``task``; returns it with its triggers' ids (``ConflictError`` when the
        name is taken)."""
        record = f"task {task.name!r}"
        conflict = f"a task named {task.name!r} already exists; choose another name"
        with translated(record, conflict=conflict), self._sessions.begin() as s:
            row = TaskRow(id=task.id)
            _write_task(row, task)
            s.add(row)
            s.flush()
            self._write_children(s, task)
        return self._require(task.id)

    def update(self, task: Task) -> Task:
        """Store every field of ``task``; triggers with an id keep it (and their hook)."""
        record = f"task {task.name!r}"
        conflict = f"a task named {task.name!r} already exists; choose another name"
        with translated(record, conflict=conflict), self._sessions.begin() as s:
            row = s.get(TaskRow, task.id)
            if row is None:
                raise NotFoundError(f"task {task.id} does not exist")
            _write_task(row, task)
            self._write_children(s, task)
        return self._require(task.id)

    def set_enabled(self, task_id: str, enabled: bool, when: datetime) -> None:
        with self._sessions.begin() as s:
            done = s.execute(
                update(TaskRow)
                .where(TaskRow.id == task_id)
                .values(enabled=enabled, updated_at=when)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"task {task_id} does not exist")

    def get(self, task_id: str) -> Task | None:
        with self._sessions() as s:
            row = s.get(TaskRow, task_id)
            return None if row is None else self._load(s, [row])[0]

    def list(self) -> builtins.list[Task]:
        """Every task, by name."""
        with self._sessions() as s:
            rows = s.scalars(select(TaskRow).order_by(TaskRow.name)).all()
            return self._load(s, builtins.list(rows))

    def delete(self, task_id: str) -> bool:
        with self._sessions.begin() as s:
            done = s.execute(delete(TaskRow).where(TaskRow.id == task_id))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def find_hook(self, hook_id: str) -> tuple[Task, Trigger] | None:
        """The task and webhook trigger behind ``hook_id`` (None when unknown)."""
        with self._sessions() as s:
            row = s.scalars(select(TriggerRow).where(TriggerRow.hook_id == hook_id)).first()
            if row is None:
                return None
            task_row = s.get(TaskRow, row.task_id)
            assert task_row is not None  # the foreign key says so
            task = self._load(s, [task_row])[0]
        trigger = task.trigger(row.id)
        assert trigger is not None
        return task, trigger

    # -- runs --------------------------------------------------------------------------

    def add_run(self, run: TaskRun) -> TaskRun:
        """Insert ``run`` (its ``id`` is ignored); returns it with its new id."""
        with translated(f"run of task {run.task_id}"), self._sessions.begin() as s:
            row = RunRow()
            _write_run(row, run)
            s.add(row)
            s.flush()
            return _run(row)

    def save_run(self, run: TaskRun) -> None:
        with translated(f"run {run.id}"), self._sessions.begin() as s:
            row = s.get(RunRow, run.id)
            if row is None:
                raise NotFoundError(f"run {run.id} does not exist")
            _write_run(row, run)

    def get_run(self, run_id: int) -> TaskRun | None:
        with self._sessions() as s:
            row = s.get(RunRow, run_id)
            return None if row is None else _run(row)

    def runs(self, task_id: str | None = None, *, limit: int = 50) -> builtins.list[TaskRun]:
        """Newest first (of every task unless ``task_id``)."""
        query = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
        if task_id is not None:
            query = query.where(RunRow.task_id == task_id)
        with self._sessions() as s:
            return [_run(row) for row in s.scalars(query)]

    def fail_unfinished(self, error: str, when: datetime) -> builtins.list[int]:
        """Fail the runs a previous process left queued or running; returns their ids."""
        with self._sessions.begin() as s:
            ids = builtins.list(s.scalars(select(RunRow.id).where(RunRow.status.in_(_UNFINISHED))))
            if ids:
                s.execute(
                    update(RunRow)
                    .where(RunRow.id.in_(ids))
                    .values(status=RunStatus.FAILED.value, error=error, finished_at=when)
                )
            return ids

    # -- webhook receipts --------------------------------------------------------------

    def remember_receipt(
        self, trigger_id: int, fingerprint: str, now: datetime, window_start: datetime
    ) -> bool:
        """Record an alert; False when the same one was accepted since ``window_start``.

        The unique (trigger, fingerprint) row decides between concurrent deliveries:
        one insert wins, the others find its fresh row and are duplicates. An older row
        (outside the window) is taken over by a conditional update, which again only
        one delivery can win.
        """
        try:
            with self._sessions.begin() as s:
                s.add(WebhookReceiptRow(
                    trigger_id=trigger_id, fingerprint=fingerprint, received_at=now
                ))  # fmt: skip
            return True
        except IntegrityError:
            pass
        with self._sessions.begin() as s:
            taken = s.execute(
                update(WebhookReceiptRow)
                .where(
                    WebhookReceiptRow.trigger_id == trigger_id,
                    WebhookReceiptRow.fingerprint == fingerprint,
                    WebhookReceiptRow.received_at < window_start,
                )
                .values(received_at=now, run_id=None)
            )
            return bool(taken.rowcount)  # type: ignore[attr-defined]

    def link_receipt(self, trigger_id: int, fingerprint: str, run_id: int) -> None:
        """Note which run an accepted alert started."""
        with self._sessions.begin() as s:
            s.execute(
                update(WebhookReceiptRow)
                .where(
                    WebhookReceiptRow.trigger_id == trigger_id,
                    WebhookReceiptRow.fingerprint == fingerprint,
                )
                .values(run_id=run_id)
            )

    def purge_receipts(self, before: datetime) -> int:
        """Forget alerts received before ``before`` (older than any dedup window)."""
        with self._sessions.begin() as s:
            done = s.execute(
                delete(WebhookReceiptRow).where(WebhookReceiptRow.received_at < before)
            )
            return int(done.rowcount)  # type: ignore[attr-defined]

    # -- internals ---------------------------------------------------------------------

    def _require(self, task_id: str) -> Task:
        task = self.get(task_id)
        if task is None:
            raise NotFoundError(f"task {task_id} does not exist")
        return task

    def _write_children(self, s: Session, task: Task) -> None:
        kept = {t.id for t in task.triggers if t.id is not None}
        stale = delete(TriggerRow).where(TriggerRow.task_id == task.id)
        if kept:
            stale = stale.where(TriggerRow.id.not_in(kept))
        s.execute(stale)
        for trigger in task.triggers:
            row = None if trigger.id is None else s.get(TriggerRow, trigger.id)
            if trigger.id is not None and (row is None or row.task_id != task.id):
                raise NotFoundError(f"task {task.name!r} has no trigger {trigger.id}")
            if row is None:
                row = TriggerRow(task_id=task.id)
                s.add(row)
            row.kind = trigger.kind.value
            row.config = dict(trigger.config)
            row.enabled = trigger.enabled
            row.hook_id = trigger.hook_id
        s.execute(delete(ActionRow).where(ActionRow.task_id == task.id))
        for position, action in enumerate(task.actions):
            s.add(
                ActionRow(
                    task_id=task.id,
                    position=position,
                    kind=action.kind.value,
                    config=dict(action.config),
                )
            )

    def _load(self, s: Session, rows: builtins.list[TaskRow]) -> builtins.list[Task]:
        ids = [row.id for row in rows]
        if not ids:
            return []
        triggers: dict[str, builtins.list[TriggerRow]] = {i: [] for i in ids}
        actions: dict[str, builtins.list[ActionRow]] = {i: [] for i in ids}
        for trigger in s.scalars(select(TriggerRow).where(TriggerRow.task_id.in_(ids))):
            triggers[trigger.task_id].append(trigger)
        for action in s.scalars(select(ActionRow).where(ActionRow.task_id.in_(ids))):
            actions[action.task_id].append(action)
        return [_task(row, triggers[row.id], actions[row.id]) for row in rows]
