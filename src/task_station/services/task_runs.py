"""Running a task: its run stored at every step, its actions in order, retries, logs.

A run is stored queued (with its cause and the alert that fired it), then running, then
ended with how each action went, its log lines and its duration; every change is
published (``TaskRunChanged``). Runs of one task never overlap: they queue behind each
other. Actions run as the task's owner, whose role decides what they may do; one that
fails ends the run unless it says ``continue_on_error``, and the actions after it are
recorded as skipped. Only actions that are safe to repeat are retried, with back-off
doubling from ``retry_delay``, and only after a failure worth retrying (the network).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from task_station.domain.audit import Face, acting_through
from task_station.domain.clock import Clock
from task_station.domain.errors import ConfigurationError, TaskStationError, VenueError
from task_station.domain.ports import UserStore
from task_station.domain.tasks import (
    Action,
    ActionOutcome,
    Alert,
    RunStatus,
    Task,
    TaskRun,
    TaskRunChanged,
    TransientActionError,
    Trigger,
)
from task_station.engine.bus import EventBus
from task_station.services.principal import Principal

log = logging.getLogger(__name__)

#: Why a run left queued or running by a station that stopped failed.
STATION_STOPPED = "the station stopped before this run ended"
#: How long ``shutdown`` lets runs in progress finish before cancelling them.
SHUTDOWN_GRACE_SECONDS = 5.0


class RunStore(Protocol):
    def add_run(self, run: TaskRun) -> TaskRun: ...
    def save_run(self, run: TaskRun) -> None: ...


@dataclass
class ActionContext:
    """What an action sees while it runs: who acts, which run, the alert, the log."""

    task: Task
    run_id: int
    actor: Principal
    alert: Alert | None
    log: Callable[[str], None]


Perform = Callable[[Action, ActionContext], Awaitable[str]]


@dataclass
class _Flight:
    """A run this station is executing."""

    run: TaskRun
    future: asyncio.Task[TaskRun] | None = None
    lines: builtins.list[str] = field(default_factory=builtins.list)


class RunExecutor:
    """Queues, executes and records runs; ``perform`` does one action."""

    def __init__(
        self,
        store: RunStore,
        *,
        users: UserStore,
        bus: EventBus,
        clock: Clock,
        retry_delay: float = 0.5,
    ) -> None:
        self._store = store
        self._users = users
        self._bus = bus
        self._clock = clock
        self.retry_delay = retry_delay
        self._flights: dict[int, _Flight] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def in_flight(self, run_id: int) -> TaskRun | None:
        """A run still going, with its log so far (stored only when it ends)."""
        flight = self._flights.get(run_id)
        return None if flight is None else replace(flight.run, logs=tuple(flight.lines))

    def queue(
        self,
        task: Task,
        trigger: Trigger | None,
        cause: str,
        perform: Perform,
        *,
        alert: Alert | None = None,
        scheduled_for: datetime | None = None,
        depth: int = 0,
    ) -> tuple[TaskRun, asyncio.Task[TaskRun]]:
        """Store the run queued and start it in the background; returns it and its task."""
        payload = None if alert is None else {"format": alert.format, **alert.values()}
        run = self._store.add_run(
            TaskRun(
                None, task.id, cause, RunStatus.QUEUED, self._clock.now(),
                None if trigger is None else trigger.id, scheduled_for, payload=payload,
            )
        )  # fmt: skip
        assert run.id is not None
        flight = self._flights[run.id] = _Flight(run)
        # what a task's actions change is the automation's doing, whatever fired it (a
        # schedule, a bus event, a webhook or a user's "run now"): the task copies this
        # context when it is created
        with acting_through(Face.AUTOMATION):
            future = asyncio.get_running_loop().create_task(
                self._execute(task, flight, perform, alert, depth), name=f"task-run-{run.id}"
            )
        flight.future = future
        self.publish(run, task, depth)
        return run, future

    async def shutdown(self) -> None:
        """Let runs in progress finish briefly, then cancel them (they fail, saying so)."""
        pending = [f.future for f in self._flights.values() if f.future is not None]
        if pending:
            _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
            for future in late:
                future.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def publish(self, run: TaskRun, task: Task | None, depth: int = 0) -> None:
        assert run.id is not None
        name = task.name if task is not None else run.task_id
        self._bus.publish(
            TaskRunChanged(
                self._clock.now(), run.task_id, name, run.id, run.status, run.error, depth
            )
        )

    async def _execute(
        self, task: Task, flight: _Flight, perform: Perform, alert: Alert | None, depth: int
    ) -> TaskRun:
        assert flight.run.id is not None
        run_id = flight.run.id
        try:
            async with self._locks.setdefault(task.id, asyncio.Lock()):
                flight.run = replace(
                    flight.run, status=RunStatus.RUNNING, started_at=self._clock.now()
                )
                self._store.save_run(flight.run)
                self.publish(flight.run, task, depth)
                flight.run = await self._run_actions(task, flight, perform, alert)
        except asyncio.CancelledError:
            flight.run = self._ended(flight, RunStatus.FAILED, STATION_STOPPED, STATION_STOPPED)
            raise
        except TaskStationError as exc:  # e.g. its owner is gone: nothing could run
            flight.run = self._ended(flight, RunStatus.FAILED, str(exc), str(exc))
        except Exception as exc:  # the station must outlive any run
            log.exception("task run %s crashed", run_id)
            why = f"internal error: {type(exc).__name__}: {exc}"
            flight.run = self._ended(flight, RunStatus.FAILED, why, why)
        finally:
            self._flights.pop(run_id, None)
            with contextlib.suppress(Exception):
                self._store.save_run(flight.run)
            self.publish(flight.run, task, depth)
        return flight.run

    async def _run_actions(
        self, task: Task, flight: _Flight, perform: Perform, alert: Alert | None
    ) -> TaskRun:
        context = ActionContext(
            task, flight.run.id or 0, self._actor(task), alert, self._logger(flight)
        )
        context.log(f"run {flight.run.id} of {task.name!r}: {flight.run.cause}")
        outcomes: builtins.list[ActionOutcome] = []
        failed: str | None = None
        for position, action in enumerate(task.actions):
            if failed is not None:
                outcomes.append(ActionOutcome(position, action.kind, RunStatus.SKIPPED, "not run"))
                continue
            outcome = await self._perform(perform, action, position, context)
            outcomes.append(outcome)
            flight.run = replace(flight.run, outcomes=tuple(outcomes))
            if outcome.status is RunStatus.FAILED and not action.continue_on_error:
                failed = f"{action.kind.value} failed: {outcome.detail}"
            elif outcome.status is RunStatus.FAILED and failed is None:
                flight.run = replace(flight.run, error=f"{action.kind.value}: {outcome.detail}")
        flight.run = replace(flight.run, outcomes=tuple(outcomes))
        error = failed or flight.run.error
        status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
        done = sum(1 for o in outcomes if o.status is RunStatus.SUCCEEDED)
        summary = f"{done} of {len(outcomes)} actions done" + (f"; {error}" if error else "")
        context.log(f"{status.value}: {summary}")
        return self._ended(flight, status, summary, error)

    async def _perform(
        self, perform: Perform, action: Action, position: int, context: ActionContext
    ) -> ActionOutcome:
        delay, attempts, began = self.retry_delay, 0, time.monotonic()
        while True:
            attempts += 1
            try:
                detail = await perform(action, context)
            except Exception as exc:
                detail = _describe(exc)
                if _worth_retrying(exc) and attempts <= action.retries:
                    context.log(f"{action.kind.value}: {detail}; again in {delay:g} s")
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                status = RunStatus.FAILED
                if not isinstance(exc, TaskStationError):
                    log.error("task %s: %s crashed", context.task.id, action.kind, exc_info=exc)
            else:
                status = RunStatus.SUCCEEDED
            ms = int((time.monotonic() - began) * 1000)
            context.log(f"{action.kind.value}: {status.value}: {detail} ({ms} ms)")
            return ActionOutcome(position, action.kind, status, detail, attempts, ms)

    def _ended(
        self, flight: _Flight, status: RunStatus, summary: str, error: str | None
    ) -> TaskRun:
        return replace(
            flight.run, status=status, finished_at=self._clock.now(), summary=summary,
            error=error, logs=tuple(flight.lines),
        )  # fmt: skip

    def _logger(self, flight: _Flight) -> Callable[[str], None]:
        def write(line: str) -> None:
            flight.lines.append(f"{self._clock.now().strftime('%H:%M:%S.%f')[:-3]} {line}")

        return write

    def _actor(self, task: Task) -> Principal:
        """The task's owner: its actions have exactly the owner's rights, now."""
        user = None if task.owner is None else self._users.get_by_username(task.owner)
        if user is None or not user.active:
            raise ConfigurationError(
                f"the owner of task {task.name!r} ({task.owner}) no longer exists or is "
                "disabled; an admin must recreate the task under an active user"
            )
        return Principal(user.id, user.username, user.role)


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, TransientActionError | VenueError | TimeoutError | ConnectionError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TaskStationError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"
