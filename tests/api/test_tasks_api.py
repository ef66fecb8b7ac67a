"""``/tasks`` over real HTTP on loopback: create, read, edit, enable, disable, run now,
run history and delete, with the same role checks and error bodies as every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from task_station.security.vault import SecretsVault
from tests.automation.support import (
    RecordingNotifier,
    Station,
    bearer,
    open_station,
    served,
    shared_vault_fixture,  # noqa: F401 - a fixture
)

SECRET = "api-webhook-secret-0123"


@pytest.fixture
async def api(
    tmp_path: Path, shared_vault: SecretsVault
) -> AsyncIterator[tuple[Station, httpx.AsyncClient]]:
    station = open_station(tmp_path / "station", shared_vault, notifier=RecordingNotifier())
    station.user("vic", "viewer")
    try:
        await station.services.tasks.start()
        async with served(station) as client:
            yield station, client
    finally:
        await station.container.aclose()


TASK = {
    "name": "every minute",
    "triggers": [
        {"kind": "cron", "config": {"expression": "* * * * *"}},
        {"kind": "webhook", "config": {"secret": SECRET}},
    ],
    "actions": [{"kind": "notify", "config": {"title": "hi {{task}}", "body": "run {{run_id}}"}}],
    "missed_runs": "run_once",
    "grace_seconds": 300,
}


async def test_task_lifecycle_over_http(api: tuple[Station, httpx.AsyncClient]) -> None:
    _, client = api
    admin = await bearer(client, "admin")
    created = await client.post("/tasks", json=TASK, headers=admin)
    assert created.status_code == 201, created.text
    assert SECRET not in created.text
    task = created.json()
    assert task["owner"] == "admin" and task["missed_runs"] == "run_once"
    cron, hook = task["triggers"]
    assert cron["next_run"] is not None and cron["summary"] == "cron * * * * *"
    assert hook["webhook_path"].startswith("/webhooks/") and "secret" not in hook["config"]

    listed = await client.get("/tasks", headers=admin)
    assert [t["id"] for t in listed.json()] == [task["id"]]
    renamed = await client.patch(
        f"/tasks/{task['id']}",
        json={"name": "renamed", "triggers": [{"id": hook["id"], "kind": "webhook"}]},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["triggers"][0]["webhook_path"] == hook["webhook_path"]
    assert renamed.json()["grace_seconds"] == 300  # not given: unchanged

    disabled = await client.post(f"/tasks/{task['id']}/disable", headers=admin)
    assert disabled.json()["enabled"] is False
    ran = await client.post(f"/tasks/{task['id']}/run?wait=true", headers=admin)
    assert ran.status_code == 200, ran.text
    run = ran.json()
    assert run["status"] == "succeeded" and run["cause"] == "manual:admin"
    assert run["outcomes"][0]["detail"] == "notified: hi renamed" and run["duration_ms"] >= 0
    assert any("notify: succeeded" in line for line in run["logs"])
    queued = await client.post(f"/tasks/{task['id']}/run", headers=admin)
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    history = await client.get(f"/tasks/{task['id']}/runs", headers=admin)
    assert [r["id"] for r in history.json()] == [queued.json()["id"], run["id"]]
    one = await client.get(f"/tasks/renamed/runs/{run['id']}", headers=admin)
    assert one.json()["outcomes"] == run["outcomes"]

    enabled = await client.post(f"/tasks/{task['id']}/enable", headers=admin)
    assert enabled.json()["enabled"] is True
    deleted = await client.delete(f"/tasks/{task['id']}", headers=admin)
    assert deleted.status_code == 204
    gone = await client.get(f"/tasks/{task['id']}", headers=admin)
    assert gone.status_code == 404 and gone.json()["error"] == "NotFoundError"
    assert (await client.post(hook["webhook_path"], content=b"{}")).status_code == 404


async def test_viewers_read_traders_write_and_bad_input_is_named(
    api: tuple[Station, httpx.AsyncClient],
) -> None:
    station, client = api
    admin, viewer = await bearer(client, "admin"), await bearer(client, "vic")
    assert (await client.get("/tasks")).status_code == 401
    refused = await client.post("/tasks", json=TASK, headers=viewer)
    assert refused.status_code == 403 and "may not create tasks" in refused.json()["detail"]
    bad_cron = {**TASK, "triggers": [{"kind": "cron", "config": {"expression": "0 25 * * *"}}]}
    invalid = await client.post("/tasks", json=bad_cron, headers=admin)
    assert invalid.status_code == 422 and "trigger 1 (cron)" in invalid.json()["detail"]
    typo = await client.post("/tasks", json={**TASK, "colour": "red"}, headers=admin)
    assert typo.status_code == 422
    assert (await client.get("/tasks", headers=viewer)).json() == []
    cheap = {**TASK, "triggers": TASK["triggers"][:1]}
    task = (await client.post("/tasks", json=cheap, headers=admin)).json()
    assert (await client.get(f"/tasks/{task['id']}", headers=viewer)).status_code == 200
    run = await client.post(f"/tasks/{task['id']}/run", headers=viewer)
    assert run.status_code == 403
    assert station.services.tasks.runs(task["id"]) == []


def test_task_and_run_changes_reach_websocket_clients() -> None:
    from datetime import UTC, datetime

    from task_station.api.messages import CONVERTERS, DEFAULT_TOPICS
    from task_station.domain.tasks import RunStatus, TaskChanged, TaskRunChanged

    now = datetime(2025, 1, 1, tzinfo=UTC)
    topic, convert = CONVERTERS[TaskRunChanged]
    message = convert(TaskRunChanged(now, "t1", "nightly", 7, RunStatus.FAILED, "boom"))
    assert topic == "task" and topic in DEFAULT_TOPICS
    assert message == {
        "type": "task_run", "ts": now.isoformat(),
        "data": {"task_id": "t1", "name": "nightly", "run_id": 7, "status": "failed", "error": "boom"},
    }  # fmt: skip
    changed = CONVERTERS[TaskChanged][1](TaskChanged(now, "t1", "nightly", "disabled"))
    assert changed["type"] == "task" and changed["data"]["change"] == "disabled"
