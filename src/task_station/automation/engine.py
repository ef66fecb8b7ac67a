"""The automation: what makes the station's tasks run.

``Automation`` is the task service's engine (``services.tasks.TaskEngine``): the
schedules (``scheduler``), the event triggers (``triggers``), the webhook alert
parsers (``payloads``) and the actions (``actions``). It is a face like the API: it
receives the services bundle, never the container. The process that starts the faces
attaches it (``attach_automation``); the container then starts and stops it with the
station (``TaskService.start`` and ``shutdown``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from task_station.automation.actions import ActionPerformer
from task_station.automation.payloads import parse_alert
from task_station.automation.scheduler import TaskScheduler
from task_station.automation.triggers import EventTriggers
from task_station.domain.tasks import Action, Alert, Task
from task_station.services.bundle import Services
from task_station.services.health import ComponentHealth, Status
from task_station.services.tasks import ActionContext, Notifier


class Automation:
    """Schedules, event triggers, alert parsing and actions over ``services``.

    ``schedule_store`` is APScheduler's job store (default: the one the task service
    was given, in the station's database); ``notifier`` sends the notify actions
    (default: the task service's, else the bundle's notification service).
    """

    def __init__(
        self,
        services: Services,
        *,
        schedule_store: Any | None = None,
        notifier: Notifier | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        tasks = services.tasks
        store = schedule_store if schedule_store is not None else tasks.schedule_store
        notifier = notifier or tasks.notifier or services.notifications
        self._health = services.health
        self.scheduler = TaskScheduler(tasks, store)
        self.triggers = EventTriggers(tasks, services.events)
        self.actions = ActionPerformer(services, notifier, http)

    async def start(self) -> None:
        await self.scheduler.start()
        self.triggers.start()
        self._health.register("scheduler", self.health)

    async def health(self) -> ComponentHealth:
        """The task scheduler's check for ``/health/ready`` and the Health dock."""
        if not self.scheduler.running:
            return ComponentHealth("scheduler", Status.DOWN, "the task scheduler stopped")
        upcoming = self.scheduler.upcoming()
        if not upcoming:
            return ComponentHealth("scheduler", Status.OK, "running; no schedule")
        when = upcoming[0].isoformat(timespec="seconds")
        return ComponentHealth("scheduler", Status.OK, f"{len(upcoming)} schedules; next at {when}")

    async def stop(self) -> None:
        self.triggers.stop()
        await self.scheduler.stop()
        await self.actions.aclose()

    def parse_alert(self, body: bytes, content_type: str | None) -> Alert:
        return parse_alert(body, content_type)

    def task_changed(self, task: Task | None, task_id: str) -> None:
        self.scheduler.task_changed(task, task_id)
        self.triggers.task_changed(task, task_id)

    def next_runs(self, task_id: str) -> dict[int, datetime | None]:
        return self.scheduler.next_runs(task_id)

    async def perform(self, action: Action, context: ActionContext) -> str:
        return await self.actions.perform(action, context)


def attach_automation(services: Services, **options: Any) -> Automation:
    """Build the automation over ``services`` and attach it to the task service."""
    automation = Automation(services, **options)
    services.tasks.attach(automation)
    return automation
