"""The Tasks dock over the real task service: it lists tasks, saves what the editor holds
(or says what the service refused), runs a task and shows its run and log, enables,
disables and deletes; a viewer can only look."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from pytestqt.qtbot import QtBot

from task_station.automation import attach_automation
from task_station.container import Container, build_container
from task_station.domain.users import Role
from task_station.gui.docks.tasks import TasksDock
from task_station.security.vault import SecretsVault
from task_station.services.bundle import Services
from task_station.services.principal import Principal
from task_station.services.users import LoginResult
from tests.automation.support import (
    shared_vault_fixture,  # noqa: F401 - a fixture
    station_settings,
    until,
)

from .helpers import settle

Run = Callable[[Coroutine[Any, Any, Any]], Any]
YEARLY = [{"kind": "cron", "config": {"expression": "0 0 1 1 *"}}]
NOTIFY = [{"kind": "notify", "config": {"title": "hello {{task}}"}}]


@pytest.fixture
def station(
    tmp_path: Path, shared_vault: SecretsVault, qloop: qasync.QEventLoop
) -> Iterator[Container]:
    """The real container with the automation attached (the shared vault is quick)."""
    container = build_container(station_settings(tmp_path / "station"), shared_vault)
    attach_automation(container.services)
    yield container
    qloop.run_until_complete(container.aclose())


@pytest.fixture
def dock(qtbot: QtBot, services: Services, admin: LoginResult) -> TasksDock:
    widget = TasksDock(services.tasks, services.events, admin.principal)
    qtbot.addWidget(widget)
    return widget


def test_run_now_shows_the_run_and_its_log(
    dock: TasksDock, services: Services, admin: LoginResult, run: Run
) -> None:
    task = services.tasks.create(admin.principal, name="greet", triggers=YEARLY, actions=NOTIFY)

    async def scenario() -> None:
        await settle()
        assert dock.model.rowCount() == 1 and dock.cell_text(0, "Name") == "greet"
        assert dock.cell_text(0, "Triggers") == "cron 0 0 1 1 *"
        assert not dock.run_button.isEnabled()
        assert dock.select_task(task.id) and dock.run_button.isEnabled()
        dock.run_button.click()
        await until(lambda: dock.pending == 0, 10, "the run")
        await until(lambda: dock.runs_model.rowCount() == 1, 5, "the run's row")
        assert dock.runs_model.text(0, 2) == "succeeded"
        assert dock.runs_model.text(0, 3) == "manual:admin"
        run_id = dock.runs_model.row_record(0).id
        assert run_id is not None and dock.select_run(run_id)
        assert "notify: succeeded: notified: hello greet" in dock.log_view.toPlainText()
        assert "succeeded" in dock.status.text()

    run(scenario())


def test_editor_saves_a_task_and_shows_what_the_service_refused(
    dock: TasksDock, services: Services
) -> None:
    dialog = dock.open_editor(None)
    dialog.name.setText("breakout")
    dialog.add_trigger("price_cross")
    dialog.add_trigger("webhook")
    assert "Webhook secret" in dialog.secret_label.text()
    dialog.add_action("notify")
    dialog.missed.setCurrentText("run_once")
    saved = dock.save(dialog.values, None)
    assert saved is not None and [t.kind.value for t in saved.triggers] == [
        "price_cross",
        "webhook",
    ]
    assert saved.missed_runs.value == "run_once" and dock.selected_task() == saved
    assert "saved" in dock.status.text()

    edit = dock.open_editor(saved)
    specs = json.loads(edit.triggers_edit.toPlainText())
    assert [s["id"] for s in specs] == [t.id for t in saved.triggers]
    specs[0]["config"]["level"] = "not a price"
    edit.triggers_edit.setPlainText(json.dumps(specs))
    assert dock.save(edit.values, saved) is None
    assert "could not save the task: trigger 1 (price_cross): level" in dock.status.text()
    edit.triggers_edit.setPlainText("[{")
    assert dock.save(edit.values, saved) is None and "not valid JSON" in dock.status.text()
    assert services.tasks.get(saved.id) == saved
    dialog.reject()
    edit.reject()


def test_toggle_and_delete_follow_the_service(
    dock: TasksDock, services: Services, admin: LoginResult, run: Run
) -> None:
    task = services.tasks.create(admin.principal, name="t", triggers=YEARLY, actions=NOTIFY)

    async def scenario() -> None:
        await settle()
        dock.select_task(task.id)
        assert dock.toggle_button.text() == "Disable"
        dock.toggle_button.click()
        assert not services.tasks.get(task.id).enabled
        assert dock.cell_text(0, "On") == "no" and dock.toggle_button.text() == "Enable"
        dock.delete_button.click()
        assert services.tasks.list() == [] and dock.model.rowCount() == 0

    run(scenario())


def test_a_viewer_can_only_look(qtbot: QtBot, services: Services, admin: LoginResult) -> None:
    services.tasks.create(admin.principal, name="seen", triggers=YEARLY, actions=NOTIFY)
    viewer = Principal("v", "vera", Role.VIEWER)
    widget = TasksDock(services.tasks, services.events, viewer)
    qtbot.addWidget(widget)
    widget.select_task(services.tasks.list()[0].id)
    assert widget.model.rowCount() == 1
    for button in (widget.new_button, widget.edit_button, widget.run_button, widget.delete_button):
        assert not button.isEnabled()
