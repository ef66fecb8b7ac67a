"""Cron and interval triggers on APScheduler, in the station's database.

Each enabled cron or interval trigger of an enabled task is one APScheduler job
(``trigger-<id>``) in the persistent job store, so its next run time survives a
restart. On start the jobs are brought in line with the tasks (a job whose schedule
still matches keeps its next run time), then APScheduler hands over every run time
that fell due, including those that fell while the station was down.

Those missed runs (due before this start) follow the task's policy: ``skip`` records
them as skipped; ``run_once`` coalesces them into one run of the latest, if it is
within the task's grace window; ``run_all`` runs each one within the window, oldest
first. Runs due while the station is up always run (several due at once, because the
loop was busy, coalesce into one). The jobs never call a function themselves: this
scheduler's executor hands their due times to the task service, which queues runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from task_station.domain.errors import NotFoundError
from task_station.domain.tasks import MissedRuns, Task
from task_station.services.task_schedules import schedule_key, schedule_trigger
from task_station.services.tasks import TaskService

log = logging.getLogger(__name__)

Due = Callable[[str, dict[str, Any], list[datetime]], Coroutine[Any, Any, None]]


def scheduled_run(task_id: str, trigger_id: int) -> None:
    """The function every job names; the automation's executor runs them instead."""
    raise RuntimeError(f"task {task_id} trigger {trigger_id}: run by the automation only")


class _DueExecutor(BaseExecutor):  # type: ignore[misc]
    """Hands each job's due run times to ``due`` on the event loop."""

    def __init__(self, due: Due) -> None:
        super().__init__()
        self._due = due
        self._pending: set[asyncio.Task[None]] = set()

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._loop = asyncio.get_running_loop()

    def shutdown(self, wait: bool = True) -> None:
        for future in self._pending:
            future.cancel()
        self._pending.clear()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        future = self._loop.create_task(self._due(job.id, dict(job.kwargs), list(run_times)))
        self._pending.add(future)

        def done(f: asyncio.Task[None]) -> None:
            self._pending.discard(f)
            error = None if f.cancelled() else f.exception()
            if error is not None:
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, [])

        future.add_done_callback(done)


def _job_id(trigger_id: int) -> str:
    return f"trigger-{trigger_id}"


class TaskScheduler:
    """The schedules of every task; ``store`` is APScheduler's job store (memory if None)."""

    def __init__(self, tasks: TaskService, store: Any | None = None) -> None:
        self._tasks = tasks
        self._store = store
        self._scheduler: Any | None = None
        self.started_at: datetime | None = None

    async def start(self) -> None:
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            jobstores={"default": self._store if self._store is not None else MemoryJobStore()},
            executors={"default": _DueExecutor(self._due)},
            job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 1},
        )
        self.started_at = datetime.now(UTC)
        scheduler.start(paused=True)  # line the jobs up with the tasks before any fires
        self._scheduler = scheduler
        try:
            self.sync(self._tasks.list())
        except BaseException:
            await self.stop()
            raise
        scheduler.resume()

    async def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn

    def sync(self, tasks: list[Task]) -> None:
        """Make the jobs exactly the enabled schedules of ``tasks``."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        wanted = {tid for task in tasks for tid in self._wanted(task)}
        for job in scheduler.get_jobs():
            if job.id not in wanted:
                scheduler.remove_job(job.id)
        for task in tasks:
            self.task_changed(task, task.id)

    def task_changed(self, task: Task | None, task_id: str) -> None:
        """Install, update or remove the jobs of one task."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        wanted = set() if task is None else self._wanted(task)
        for job in scheduler.get_jobs():
            if job.kwargs.get("task_id") == task_id and job.id not in wanted:
                scheduler.remove_job(job.id)
        if task is None:
            return
        for trigger in task.active_triggers():
            if not trigger.kind.scheduled or trigger.id is None:
                continue
            key = schedule_key(trigger.kind, trigger.config)
            job = scheduler.get_job(_job_id(trigger.id))
            if job is not None and job.name == key:
                continue  # same schedule: keep its next run time (and missed runs)
            scheduler.add_job(
                f"{__name__}:scheduled_run",
                trigger=schedule_trigger(trigger.kind, trigger.config),
                id=_job_id(trigger.id),
                name=key,
                kwargs={"task_id": task.id, "trigger_id": trigger.id},
                replace_existing=True,
            )

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def upcoming(self) -> list[datetime]:
        """The next run time of every schedule, soonest first."""
        if self._scheduler is None:
            return []
        return sorted(j.next_run_time for j in self._scheduler.get_jobs() if j.next_run_time)

    def next_runs(self, task_id: str) -> dict[int, datetime | None]:
        if self._scheduler is None:
            return {}
        return {
            int(job.kwargs["trigger_id"]): job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.kwargs.get("task_id") == task_id
        }

    @staticmethod
    def _wanted(task: Task) -> set[str]:
        return {
            _job_id(t.id) for t in task.active_triggers() if t.kind.scheduled and t.id is not None
        }

    async def _due(self, job_id: str, kwargs: dict[str, Any], run_times: list[datetime]) -> None:
        task_id, trigger_id = str(kwargs["task_id"]), int(kwargs["trigger_id"])
        start = self.started_at or datetime.now(UTC)
        missed = [t for t in run_times if t < start]
        on_time = [t for t in run_times if t >= start]
        if missed:
            self._missed(task_id, trigger_id, missed)
        if on_time:
            self._tasks.fire(task_id, trigger_id, "schedule", scheduled_for=on_time[-1])

    def _missed(self, task_id: str, trigger_id: int, missed: list[datetime]) -> None:
        try:
            task = self._tasks.get(task_id)
        except NotFoundError:
            return  # deleted meanwhile: its job goes with the next sync
        now = datetime.now(UTC)
        grace = None if task.grace_seconds is None else timedelta(seconds=task.grace_seconds)
        fresh = [t for t in missed if grace is None or now - t <= grace]
        if task.missed_runs is MissedRuns.RUN_ONCE and fresh:
            fresh = fresh[-1:]
        elif task.missed_runs is MissedRuns.SKIP:
            fresh = []
        for when in fresh:
            self._tasks.fire(task_id, trigger_id, "missed", scheduled_for=when)
        dropped = [t for t in missed if t not in fresh]
        if dropped:
            coalesced = task.missed_runs is MissedRuns.RUN_ONCE and bool(fresh)
            why = _missed_text(dropped, task.missed_runs, grace, coalesced=coalesced)
            log.warning("task %r: %s", task.name, why)
            self._tasks.record_skipped(task_id, trigger_id, "missed", dropped[-1], why)


def _missed_text(
    dropped: list[datetime], policy: MissedRuns, grace: timedelta | None, *, coalesced: bool
) -> str:
    span = dropped[0].isoformat(timespec="seconds")
    if len(dropped) > 1:
        span += f" to {dropped[-1].isoformat(timespec='seconds')}"
    count = f"{len(dropped)} run{'s' if len(dropped) > 1 else ''} due at {span}"
    if policy is MissedRuns.SKIP:
        return f"{count} missed while the station was down: skipped (policy skip)"
    if coalesced:
        return f"{count} missed while the station was down: coalesced into the latest (run_once)"
    window = "" if grace is None else f" {int(grace.total_seconds())} s"
    return f"{count} missed while the station was down, beyond the{window} grace window: not run"
