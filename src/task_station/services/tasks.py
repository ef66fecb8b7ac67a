"""Tasks as a use case: create, edit, enable, run, record; and the webhook intake.

Every face calls this service: the GUI's Tasks dock, ``/tasks`` and ``/webhooks`` of
the API and ``task-station tasks`` of the CLI. What makes tasks *run* is a face too:
the automation (``automation.Automation``, the ``TaskEngine`` here) watches the clock
and the bus, parses alerts and performs actions by calling the other services. The
process that starts the faces attaches it (``attach``); ``start`` and ``shutdown``
(called by the container) start and stop it with the station. Without one, tasks can
still be listed and edited; running them says that the automation is not running.

Every run is stored, from queued to how each action ended, with its logs
(``task_runs``). Webhook alerts are checked before anything runs (``task_webhooks``):
the secret (kept in the vault, never in the database, a log or an answer), the alert's
age, and whether the same alert was accepted within the trigger's window (a
fingerprint stored per trigger, so a retried delivery never orders twice). An accepted
alert answers at once; its run goes on in the background.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from task_station.domain.clock import Clock
from task_station.domain.errors import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    TaskStationError,
    ValidationError,
)
from task_station.domain.ports import AuditLog, UserStore
from task_station.domain.task_configs import check_action, check_trigger
from task_station.domain.tasks import (
    Action,
    Alert,
    MissedRuns,
    RunStatus,
    Task,
    TaskChanged,
    TaskRun,
    Trigger,
    TriggerKind,
    webhook_secret_ref,
)
from task_station.engine.bus import EventBus
from task_station.services.principal import Principal
from task_station.services.task_runs import STATION_STOPPED, ActionContext, RunExecutor
from task_station.services.task_schedules import check_schedule
from task_station.services.task_webhooks import (
    MAX_WEBHOOK_BYTES,
    authenticate,
    check_age,
    fingerprint,
)

log = logging.getLogger(__name__)

MAX_TRIGGERS, MAX_ACTIONS = 10, 20
MAX_LISTED_RUNS = 500
#: Chained runs (task B on task A's end, ...) stop this deep: a loop must not spin.
MAX_CHAIN_DEPTH = 5


class TaskStore(Protocol):
    """Where tasks and runs live (``persistence.tasks.SqlTaskStore``)."""

    def add(self, task: Task) -> Task: ...
    def update(self, task: Task) -> Task: ...
    def set_enabled(self, task_id: str, enabled: bool, when: datetime) -> None: ...
    def get(self, task_id: str) -> Task | None: ...
    def list(self) -> builtins.list[Task]: ...
    def delete(self, task_id: str) -> bool: ...
    def find_hook(self, hook_id: str) -> tuple[Task, Trigger] | None: ...
    def add_run(self, run: TaskRun) -> TaskRun: ...
    def save_run(self, run: TaskRun) -> None: ...
    def get_run(self, run_id: int) -> TaskRun | None: ...
    def runs(self, task_id: str | None = None, *, limit: int = 50) -> builtins.list[TaskRun]: ...
    def fail_unfinished(self, error: str, when: datetime) -> builtins.list[int]: ...

    def remember_receipt(
        self, trigger_id: int, fingerprint: str, now: datetime, window_start: datetime
    ) -> bool: ...

    def link_receipt(self, trigger_id: int, fingerprint: str, run_id: int) -> None: ...
    def purge_receipts(self, before: datetime) -> int: ...


class SecretStore(Protocol):
    """What the service needs from ``security.vault.SecretsVault``."""

    def get(self, ref: str) -> str | None: ...
    def set(self, ref: str, value: str) -> None: ...
    def delete(self, ref: str) -> None: ...


class Notifier(Protocol):
    """Sends a notification (``services.notifications.NotificationService``)."""

    async def notify(
        self, kind: str, title: str, body: str, *, data: dict[str, object] | None = None
    ) -> None: ...


class TaskEngine(Protocol):
    """What makes tasks run (``automation.Automation``)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    def parse_alert(self, body: bytes, content_type: str | None) -> Alert:
        """Read a webhook body (``ValidationError`` when it is malformed)."""

    def task_changed(self, task: Task | None, task_id: str) -> None:
        """(Re)install the task's triggers; None (deleted) removes them."""

    def next_runs(self, task_id: str) -> dict[int, datetime | None]:
        """Next scheduled time of each cron or interval trigger of the task."""

    async def perform(self, action: Action, context: ActionContext) -> str:
        """Do one action; returns what it did (raises when it failed)."""


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """How an alert was taken: ``accepted`` (its run is ``run_id``) or ``duplicate``."""

    status: str
    task_id: str
    run_id: int | None = None


class TaskService:
    """Tasks of the station; ``retry_delay`` is the first back-off (doubled each time)."""

    notifier: Notifier | None
    schedule_store: object | None

    def __init__(
        self,
        store: TaskStore,
        *,
        vault: SecretStore,
        users: UserStore,
        audit: AuditLog,
        bus: EventBus,
        clock: Clock,
        notifier: Notifier | None = None,
        schedule_store: object | None = None,
        retry_delay: float = 0.5,
    ) -> None:
        self._store = store
        self._vault = vault
        self._users = users
        self._audit = audit
        self._bus = bus
        self._clock = clock
        self.notifier = notifier
        #: Where the engine keeps schedules (``persistence.tasks.schedule_store``; None:
        #: in memory, lost with the process).
        self.schedule_store = schedule_store
        self.runner = RunExecutor(store, users=users, bus=bus, clock=clock, retry_delay=retry_delay)
        self._engine: TaskEngine | None = None
        self._started = False
        self._closing = False

    # -- the engine ------------------------------------------------------------------

    def attach(self, engine: TaskEngine) -> None:
        """Let ``engine`` run the tasks (once, before ``start``)."""
        if self._engine is not None:
            raise ConflictError("an automation is already attached to the task service")
        self._engine = engine

    @property
    def running(self) -> bool:
        """Whether tasks run here now (an engine is attached and started)."""
        return self._engine is not None and self._started

    async def start(self) -> None:
        """Fail the runs a previous process left unfinished, forget old webhook
        receipts, then start the engine (its schedules, with their missed runs)."""
        self._closing = False
        now = self._clock.now()
        for run_id in self._store.fail_unfinished(STATION_STOPPED, now):
            log.warning("task run %s: %s", run_id, STATION_STOPPED)
        self._store.purge_receipts(now - timedelta(days=8))
        if self._engine is not None and not self._started:
            await self._engine.start()
            self._started = True

    async def shutdown(self) -> None:
        """Queue no more runs, let those in progress finish briefly (then cancel them),
        then stop the engine."""
        self._closing = True
        await self.runner.shutdown()
        if self._engine is not None:  # started or not, it lets go of what it holds
            self._started = False
            await self._engine.stop()

    # -- queries -----------------------------------------------------------------------

    def list(self) -> builtins.list[Task]:
        return self._store.list()

    def get(self, task_id: str) -> Task:
        """A task by id, or by name (``NotFoundError`` when neither matches)."""
        task = self._store.get(task_id)
        if task is None:
            task = next((t for t in self._store.list() if t.name == task_id), None)
        if task is None:
            raise NotFoundError(f"no task with id or name {task_id!r}")
        return task

    def runs(self, task_id: str | None = None, *, limit: int = 50) -> builtins.list[TaskRun]:
        """Runs, newest first (of one task when ``task_id``, given by id or name)."""
        if not 1 <= limit <= MAX_LISTED_RUNS:
            raise ValidationError(f"limit must be between 1 and {MAX_LISTED_RUNS}, got {limit}")
        resolved = None if task_id is None else self.get(task_id).id
        return self._store.runs(resolved, limit=limit)

    def run(self, run_id: int) -> TaskRun:
        run = self.runner.in_flight(run_id) or self._store.get_run(run_id)
        if run is None:
            raise NotFoundError(f"task run {run_id} does not exist")
        return run

    def next_runs(self, task_id: str) -> dict[int, datetime | None]:
        """When each schedule of the task fires next (empty while nothing runs tasks)."""
        task = self.get(task_id)
        return {} if self._engine is None else self._engine.next_runs(task.id)

    # -- commands ----------------------------------------------------------------------

    def create(
        self,
        actor: Principal,
        *,
        name: str,
        triggers: Sequence[Mapping[str, Any]],
        actions: Sequence[Mapping[str, Any]],
        description: str | None = None,
        enabled: bool = True,
        missed_runs: MissedRuns | str = MissedRuns.SKIP,
        grace_seconds: int | None = None,
    ) -> Task:
        """Check everything, then store the task and its webhook secrets.

        ``triggers`` are ``{"kind", "config", "enabled"?}``, ``actions`` are
        ``{"kind", "config"}``; a webhook trigger's ``config.secret`` goes to the vault.
        """
        actor.require_trader("create tasks")
        checked, new_secrets = self._triggers(triggers, None)
        task = Task(
            id=uuid.uuid4().hex,
            name=_name(name),
            triggers=checked,
            actions=_actions(actions),
            created_at=self._clock.now(),
            enabled=enabled,
            owner=actor.username,
            description=_description(description),
            missed_runs=_policy(missed_runs),
            grace_seconds=_grace(grace_seconds),
        )
        self._check_chains(task)
        stored = self._with_secrets(new_secrets, lambda: self._store.add(task))
        self._changed(actor, stored, "created")
        return stored

    def update(
        self,
        actor: Principal,
        task_id: str,
        *,
        name: str | None = None,
        triggers: Sequence[Mapping[str, Any]] | None = None,
        actions: Sequence[Mapping[str, Any]] | None = None,
        description: str | None = None,
        missed_runs: MissedRuns | str | None = None,
        grace_seconds: int | None = -1,
    ) -> Task:
        """Change what is given (``grace_seconds=-1``: unchanged; None: however late).
        Triggers given with their ``id`` keep it, and a webhook keeps its URL (and its
        secret unless a new one is given)."""
        actor.require_trader("edit tasks")
        task = self.get(task_id)
        new_secrets: dict[str, str] = {}
        changes: dict[str, Any] = {"updated_at": self._clock.now()}
        if name is not None:
            changes["name"] = _name(name)
        if triggers is not None:
            changes["triggers"], new_secrets = self._triggers(triggers, task)
        if actions is not None:
            changes["actions"] = _actions(actions)
        if description is not None:
            changes["description"] = _description(description)
        if missed_runs is not None:
            changes["missed_runs"] = _policy(missed_runs)
        if grace_seconds != -1:
            changes["grace_seconds"] = _grace(grace_seconds)
        edited = replace(task, **changes)
        self._check_chains(edited)
        stored = self._with_secrets(new_secrets, lambda: self._store.update(edited), task)
        self._drop_secrets(task, stored)
        self._changed(actor, stored, "updated")
        return stored

    def set_enabled(self, actor: Principal, task_id: str, enabled: bool) -> Task:
        actor.require_trader("enable or disable tasks")
        task = self.get(task_id)
        self._store.set_enabled(task.id, enabled, self._clock.now())
        stored = self.get(task.id)
        self._changed(actor, stored, "enabled" if enabled else "disabled")
        return stored

    def delete(self, actor: Principal, task_id: str) -> None:
        """Delete the task, its runs and its webhook secrets."""
        actor.require_trader("delete tasks")
        task = self.get(task_id)
        self._store.delete(task.id)
        self._drop_secrets(task, None)
        now = self._clock.now()
        self._audit.record(now, actor.username, "task.delete", task.id, task.name)
        if self._engine is not None:
            self._engine.task_changed(None, task.id)
        self._bus.publish(TaskChanged(now, task.id, task.name, "deleted"))

    async def run_now(self, actor: Principal, task_id: str, *, wait: bool = True) -> TaskRun:
        """Run the task now (even when disabled); with ``wait``, return it once ended."""
        actor.require_trader("run tasks")
        task = self.get(task_id)
        self._require_engine()
        self._audit.record(self._clock.now(), actor.username, "task.run", task.id, task.name)
        run, future = self._queue(task, None, f"manual:{actor.username}")
        return await asyncio.shield(future) if wait else run

    # -- what fires runs (the engine calls these) -------------------------------------

    def fire(
        self,
        task_id: str,
        trigger_id: int | None,
        cause: str,
        *,
        alert: Alert | None = None,
        scheduled_for: datetime | None = None,
        depth: int = 0,
    ) -> TaskRun | None:
        """Queue a run of the task because ``trigger_id`` fired (None when the task or
        the trigger was disabled or deleted meanwhile)."""
        task = self._store.get(task_id)
        trigger = None if task is None else task.trigger(trigger_id)
        if task is None or not task.enabled or self._closing:
            return None
        if trigger_id is not None and (trigger is None or not trigger.enabled):
            return None
        if depth > MAX_CHAIN_DEPTH:
            why = f"not run: {depth} chained runs in a row (at most {MAX_CHAIN_DEPTH}); is there a loop?"
            return self.record_skipped(task_id, trigger_id, cause, scheduled_for, why)
        return self._queue(task, trigger, cause, alert, scheduled_for, depth)[0]

    def record_skipped(
        self,
        task_id: str,
        trigger_id: int | None,
        cause: str,
        scheduled_for: datetime | None,
        why: str,
    ) -> TaskRun:
        """Record a run that did not happen, and why (missed while the station was down)."""
        now = self._clock.now()
        run = self._store.add_run(
            TaskRun(
                None, task_id, cause, RunStatus.SKIPPED, now, trigger_id, scheduled_for,
                finished_at=now, summary=why, logs=(why,),
            )
        )  # fmt: skip
        self.runner.publish(run, self._store.get(task_id))
        return run

    # -- webhooks ----------------------------------------------------------------------

    def receive_webhook(
        self, hook_id: str, body: bytes, headers: Mapping[str, str]
    ) -> WebhookReceipt:
        """Check an alert posted to ``/webhooks/{hook_id}`` and queue its run.

        Raises ``NotFoundError`` (no such hook), ``ValidationError`` (malformed, too
        big, stale), ``AuthenticationError`` (wrong secret or signature) or
        ``ConflictError`` (the task is disabled); nothing is stored then. The same
        alert again within the trigger's window answers ``duplicate`` and runs nothing.
        ``headers`` are matched without regard to case.
        """
        found = self._store.find_hook(hook_id) if 8 <= len(hook_id) <= 64 else None
        if found is None:
            raise NotFoundError("no webhook at this address; copy the URL from the task again")
        task, trigger = found
        if len(body) > MAX_WEBHOOK_BYTES:
            raise ValidationError(f"the alert is larger than {MAX_WEBHOOK_BYTES} bytes")
        lower = {k.lower(): v for k, v in headers.items()}
        alert = self._require_engine().parse_alert(body, lower.get("content-type"))
        secret = self._vault.get(webhook_secret_ref(hook_id))
        authenticate(str(trigger.config.get("auth", "any")), secret, body, alert, lower)
        if not task.enabled or not trigger.enabled:
            raise ConflictError(f"task {task.name!r} is disabled: enable it to act on alerts")
        now = self._clock.now()
        check_age(alert, trigger.config.get("max_age_seconds"), now)
        assert trigger.id is not None
        key = fingerprint(hook_id, alert)
        window = timedelta(seconds=int(trigger.config.get("dedup_seconds", 600)))
        if not self._store.remember_receipt(trigger.id, key, now, now - window):
            log.info("webhook %s: the same alert again within %s, ignored", hook_id, window)
            return WebhookReceipt("duplicate", task.id)
        run, _ = self._queue(task, trigger, "webhook", alert)
        assert run.id is not None
        self._store.link_receipt(trigger.id, key, run.id)
        return WebhookReceipt("accepted", task.id, run.id)

    def _queue(
        self,
        task: Task,
        trigger: Trigger | None,
        cause: str,
        alert: Alert | None = None,
        scheduled_for: datetime | None = None,
        depth: int = 0,
    ) -> tuple[TaskRun, asyncio.Task[TaskRun]]:
        engine = self._require_engine()
        if self._closing:
            raise ConflictError("the station is stopping: no new task runs")
        return self.runner.queue(
            task, trigger, cause, engine.perform, alert=alert, scheduled_for=scheduled_for,
            depth=depth,
        )  # fmt: skip

    def _require_engine(self) -> TaskEngine:
        if self._engine is None:
            raise ConfigurationError(
                "tasks do not run in this process: the station's automation is not attached "
                "(run them from the station: task-station serve, or the GUI)"
            )
        return self._engine

    # -- internals ---------------------------------------------------------------------

    def _triggers(
        self, specs: Sequence[Mapping[str, Any]], task: Task | None
    ) -> tuple[tuple[Trigger, ...], dict[str, str]]:
        if not specs:
            raise ValidationError("a task needs at least one trigger (run it by hand with run)")
        if len(specs) > MAX_TRIGGERS:
            raise ValidationError(f"a task has at most {MAX_TRIGGERS} triggers")
        checked, new_secrets = [], {}
        for n, spec in enumerate(specs, start=1):
            trigger, secret = self._trigger(n, spec, task)
            if secret is not None:
                assert trigger.hook_id is not None
                new_secrets[trigger.hook_id] = secret
            checked.append(trigger)
        return tuple(checked), new_secrets

    def _trigger(
        self, n: int, spec: Mapping[str, Any], task: Task | None
    ) -> tuple[Trigger, str | None]:
        where = f"trigger {n}"
        kind, config, secret = check_trigger(spec.get("kind"), spec.get("config") or {}, where)
        enabled = spec.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ValidationError(f"{where}: enabled must be true or false")
        old = None
        if spec.get("id") is not None:
            old = None if task is None else task.trigger(_int_id(spec["id"], where))
            if old is None or old.kind is not kind:
                raise ValidationError(
                    f"{where}: this task has no {kind.value} trigger {spec['id']}"
                )
        if kind.scheduled:
            check_schedule(kind, config, where)
        hook_id = old.hook_id if old is not None else None
        if kind is TriggerKind.WEBHOOK and hook_id is None:
            if secret is None:
                raise ValidationError(
                    f"{where}: a webhook needs a secret of 16 or more characters (config.secret); "
                    "the sender puts it in the alert or signs the body with it"
                )
            hook_id = secrets.token_urlsafe(18)
        trigger = Trigger(kind, config, None if old is None else old.id, enabled, hook_id)
        return trigger, secret

    def _check_chains(self, task: Task) -> None:
        for trigger in task.triggers:
            if trigger.kind is TriggerKind.TASK_RESULT:
                target = str(trigger.config["task_id"])
                if target == task.id or target == task.name:
                    raise ValidationError("a task cannot be chained on its own runs")
                trigger.config["task_id"] = self.get(target).id  # a name is kept as the id

    def _with_secrets(
        self, new: Mapping[str, str], store: Callable[[], Task], old: Task | None = None
    ) -> Task:
        """Write the new secrets, then the task; put the vault back if the task fails
        (a replaced secret of ``old``'s webhooks comes back)."""
        kept = set() if old is None else {t.hook_id for t in old.triggers}
        before = {
            hook_id: self._vault.get(webhook_secret_ref(hook_id)) if hook_id in kept else None
            for hook_id in new
        }
        for hook_id, secret in new.items():
            self._vault.set(webhook_secret_ref(hook_id), secret)
        try:
            return store()
        except BaseException:
            for hook_id, previous in before.items():
                with contextlib.suppress(TaskStationError):
                    if previous is None:
                        self._vault.delete(webhook_secret_ref(hook_id))
                    else:
                        self._vault.set(webhook_secret_ref(hook_id), previous)
            raise

    def _drop_secrets(self, old: Task, new: Task | None) -> None:
        kept = set() if new is None else {t.hook_id for t in new.triggers}
        for trigger in old.triggers:
            if trigger.hook_id is not None and trigger.hook_id not in kept:
                with contextlib.suppress(TaskStationError):
                    self._vault.delete(webhook_secret_ref(trigger.hook_id))

    def _changed(self, actor: Principal, task: Task, change: str) -> None:
        now = self._clock.now()
        self._audit.record(
            now, actor.username, f"task.{change.removesuffix('d')}", task.id, task.name
        )
        if self._engine is not None:
            self._engine.task_changed(task, task.id)
        self._bus.publish(TaskChanged(now, task.id, task.name, change))


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 80:
        raise ValidationError("the task name must have 1-80 characters")
    return name


def _description(value: str | None) -> str | None:
    if value is not None and len(value) > 2000:
        raise ValidationError("the description has at most 2000 characters")
    if value is None:
        return None
    return value.strip() or None


def _policy(value: MissedRuns | str) -> MissedRuns:
    try:
        return MissedRuns(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(p.value for p in MissedRuns)
        raise ValidationError(f"missed_runs must be one of {allowed}, got {value!r}") from None


def _grace(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 30 * 86400:
        raise ValidationError("grace_seconds must be a whole number of seconds, 1 to 2592000")
    return value


def _actions(specs: Sequence[Mapping[str, Any]]) -> tuple[Action, ...]:
    if not specs:
        raise ValidationError("a task needs at least one action")
    if len(specs) > MAX_ACTIONS:
        raise ValidationError(f"a task has at most {MAX_ACTIONS} actions")
    return tuple(
        check_action(spec.get("kind"), spec.get("config") or {}, f"action {n}")
        for n, spec in enumerate(specs, start=1)
    )


def _int_id(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"{where}: id must be a whole number")
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{where}: id must be a whole number") from None


__all__ = [
    "ActionContext",
    "Notifier",
    "TaskEngine",
    "TaskService",
    "TaskStore",
    "WebhookReceipt",
]
