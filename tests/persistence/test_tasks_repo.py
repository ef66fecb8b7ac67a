"""Tasks, runs and webhook receipts on both backends: round trips, edits that keep a
webhook's trigger, run history newest first, and receipts that only one delivery wins.

One migrated database per backend for the module (a PostgreSQL database costs a second
to create): each test works on its own task."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from decimal import Decimal

import pytest

from task_station.domain.errors import ConflictError, NotFoundError
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
from task_station.persistence import Database
from task_station.persistence.tasks import SqlTaskStore, schedule_store

from .factories import PLUS_TWO, T0, at

_SERIAL = itertools.count(1)


@pytest.fixture
def store(module_database: Database) -> SqlTaskStore:
    return SqlTaskStore.on(module_database)


def task(name: str | None = None, task_id: str | None = None) -> Task:
    n = next(_SERIAL)
    return Task(
        id=task_id or f"task-{n}",
        name=name or f"breakout {n}",
        triggers=(
            Trigger(TriggerKind.CRON, {"expression": "*/5 * * * *", "timezone": "UTC"}),
            Trigger(
                TriggerKind.WEBHOOK, {"auth": "any", "dedup_seconds": 600}, hook_id=f"hook-{n}"
            ),
            Trigger(TriggerKind.PRICE_CROSS, {"symbol": "BTC/USDT", "level": Decimal("65000.5")}),
        ),
        actions=(
            Action(ActionKind.START_BOT, {"bot_id": "bot-1", "retries": 2}),
            Action(ActionKind.PLACE_ORDER, {"bot_id": "bot-1", "quantity": Decimal("0.015")}),
        ),
        created_at=T0,
        owner="alice",
        description="buy the breakout",
        missed_runs=MissedRuns.RUN_ALL,
        grace_seconds=120,
    )


def without_ids(stored: Task) -> Task:
    return replace(stored, triggers=tuple(replace(t, id=None) for t in stored.triggers))


def test_task_round_trips_with_exact_money_and_trigger_ids(store: SqlTaskStore) -> None:
    original = task()
    stored = store.add(replace(original, created_at=T0.astimezone(PLUS_TWO)))
    assert without_ids(stored) == original
    assert all(t.id is not None for t in stored.triggers)
    assert store.get(original.id) == stored
    assert stored.triggers[2].config["level"] == Decimal("65000.5")
    assert stored in store.list()
    assert store.get("nope") is None


def test_duplicate_name_is_refused_naming_it(store: SqlTaskStore) -> None:
    store.add(task(name="twice"))
    with pytest.raises(ConflictError, match="a task named 'twice' already exists"):
        store.add(task(name="twice"))


def test_update_keeps_webhook_trigger_and_replaces_the_rest(store: SqlTaskStore) -> None:
    stored = store.add(task())
    webhook = stored.triggers[1]
    edited = replace(
        stored,
        name="renamed",
        enabled=False,
        triggers=(webhook, Trigger(TriggerKind.INTERVAL, {"seconds": 30})),
        actions=(Action(ActionKind.NOTIFY, {"title": "hi", "body": ""}),),
        updated_at=at(60),
    )
    back = store.update(edited)
    assert back.triggers[0] == webhook  # same id, same hook
    assert back.triggers[1].kind is TriggerKind.INTERVAL and back.triggers[1].id is not None
    assert [a.kind for a in back.actions] == [ActionKind.NOTIFY]
    assert back.name == "renamed" and not back.enabled and back.updated_at == at(60)
    assert webhook.hook_id is not None
    assert store.find_hook(webhook.hook_id) == (back, webhook)
    with pytest.raises(NotFoundError):
        store.update(replace(back, id="missing"))


def test_find_hook_and_set_enabled_and_delete(store: SqlTaskStore) -> None:
    stored = store.add(task())
    assert store.find_hook("unknown") is None
    store.set_enabled(stored.id, False, at(5))
    assert store.get(stored.id) == replace(stored, enabled=False, updated_at=at(5))
    with pytest.raises(NotFoundError):
        store.set_enabled("missing", True, at(5))
    assert store.delete(stored.id) and not store.delete(stored.id)
    assert store.find_hook(str(stored.triggers[1].hook_id)) is None


def run(task_id: str, started: float, status: RunStatus = RunStatus.QUEUED) -> TaskRun:
    return TaskRun(None, task_id, "schedule", status, at(started), scheduled_for=at(started))


def test_runs_keep_logs_outcomes_and_payload_newest_first(store: SqlTaskStore) -> None:
    stored = store.add(task())
    first = store.add_run(replace(run(stored.id, 0), trigger_id=stored.triggers[0].id))
    second = store.add_run(run(stored.id, 10))
    assert first.id is not None and second.id is not None and second.id > first.id
    outcome = ActionOutcome(0, ActionKind.START_BOT, RunStatus.SUCCEEDED, "started", 1, 12)
    done = replace(
        first, status=RunStatus.SUCCEEDED, finished_at=at(1), summary="1 of 1 actions done",
        logs=("12:00:00.000 started",), outcomes=(outcome,),
        payload={"format": "tradingview", "qty": "0.015", "price": Decimal("1.5")},
    )  # fmt: skip
    store.save_run(done)
    assert store.get_run(first.id) == done
    assert store.runs(stored.id) == [second, done]
    assert store.runs(stored.id, limit=1) == [second]
    assert store.runs()[0].started_at >= at(10)
    assert done.duration is not None and done.duration.total_seconds() == 1
    with pytest.raises(NotFoundError):
        store.save_run(replace(done, id=9999))


def test_unfinished_runs_fail_after_a_restart(store: SqlTaskStore) -> None:
    stored = store.add(task())
    queued = store.add_run(run(stored.id, 0))
    ended = store.add_run(run(stored.id, 1, RunStatus.SUCCEEDED))
    failed_ids = store.fail_unfinished("the station stopped", at(9))
    assert queued.id in failed_ids and ended.id not in failed_ids
    failed = store.get_run(queued.id or 0)
    assert failed is not None and failed.status is RunStatus.FAILED
    assert failed.error == "the station stopped" and failed.finished_at == at(9)
    assert store.get_run(ended.id or 0) == ended


def test_deleting_a_trigger_keeps_its_runs_without_it(store: SqlTaskStore) -> None:
    stored = store.add(task())
    cron = stored.triggers[0]
    kept = store.add_run(replace(run(stored.id, 0), trigger_id=cron.id))
    store.update(replace(stored, triggers=stored.triggers[1:]))
    assert store.get_run(kept.id or 0) == replace(kept, trigger_id=None)


def test_receipt_is_accepted_once_within_its_window(store: SqlTaskStore) -> None:
    stored = store.add(task())
    trigger_id = stored.triggers[1].id
    assert trigger_id is not None
    assert store.remember_receipt(trigger_id, "fp", at(0), at(-600))
    assert not store.remember_receipt(trigger_id, "fp", at(1), at(-599))
    assert store.remember_receipt(trigger_id, "other", at(1), at(-599))
    assert store.remember_receipt(trigger_id, "fp", at(700), at(100))  # the window passed
    assert not store.remember_receipt(trigger_id, "fp", at(701), at(101))
    assert store.purge_receipts(at(700)) == 1  # "other"; "fp" was taken over at 700


def test_concurrent_deliveries_of_one_alert_accept_exactly_one(store: SqlTaskStore) -> None:
    stored = store.add(task())
    trigger_id = stored.triggers[1].id
    assert trigger_id is not None
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def deliver() -> None:
        barrier.wait()
        results.append(store.remember_receipt(trigger_id, "same-alert", at(9000), at(8400)))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_schedule_store_is_the_migrated_table(module_database: Database) -> None:
    jobs = schedule_store(module_database)
    assert jobs.jobs_t.name == "task_schedules"
    assert "task_schedules" in module_database.table_names()
    jobs.shutdown()  # must not dispose the station's engine
    assert module_database.users.count() == 0


def test_upgrade_0007_to_0008_keeps_tasks_and_runs(empty_database: Database) -> None:
    """A task and a run stored under 0007 read back with the new columns' defaults."""
    empty_database.upgrade("0007")
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO tasks (id, name, description, enabled, owner, created_at) VALUES "
            "('old', 'old task', NULL, true, 'alice', '2024-01-01 00:00:00+00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO runs (task_id, started_at, status, output) VALUES "
            "('old', '2024-01-01 00:00:00+00:00', 'succeeded', 'done')"
        )
    empty_database.upgrade("0008")
    store = SqlTaskStore.on(empty_database)
    old = store.get("old")
    assert old is not None and old.missed_runs is MissedRuns.SKIP and old.grace_seconds is None
    (run,) = store.runs("old")
    assert (run.cause, run.status, run.summary, run.logs) == (
        "manual",
        RunStatus.SUCCEEDED,
        "done",
        (),
    )
    empty_database.downgrade("0007")
    assert "webhook_receipts" not in empty_database.table_names()
