"""The task service over a real station: checks before storing, roles, runs recorded with
their outcome and logs, retries only where repeating is safe, chaining, secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from task_station.domain.bots import BotStatus
from task_station.domain.errors import (
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from task_station.domain.tasks import (
    ActionKind,
    RunStatus,
    TaskRunChanged,
    TransientActionError,
    TriggerKind,
    webhook_secret_ref,
)
from task_station.security.vault import SecretsVault
from task_station.services.tasks import MAX_CHAIN_DEPTH
from tests.automation.support import (
    RecordingNotifier,
    Station,
    open_station,
    shared_vault_fixture,  # noqa: F401 - a fixture
    until,
)

SECRET = "a-webhook-secret-of-some-length"
#: A trigger that does not fire during a test (yearly): these tasks are run by hand.
MANUAL = [{"kind": "cron", "config": {"expression": "0 0 1 1 *"}}]
WEBHOOK = [{"kind": "webhook", "config": {"secret": SECRET}}]


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def station(
    tmp_path: Path,
    shared_vault: SecretsVault,
    notifier: RecordingNotifier,
) -> AsyncIterator[Station]:
    built = open_station(tmp_path / "station", shared_vault, notifier=notifier)
    built.services.tasks.runner.retry_delay = 0.01  # back-off in tests: milliseconds
    yield built
    await built.container.aclose()


def notify(title: str = "hello {{task}}", **config: Any) -> dict[str, Any]:
    return {"kind": "notify", "config": {"title": title, **config}}


def test_create_refuses_what_cannot_work_and_stores_nothing(station: Station) -> None:
    tasks, admin = station.services.tasks, station.admin
    bad: list[tuple[list[dict[str, Any]], list[dict[str, Any]], str]] = [
        (
            [{"kind": "cron", "config": {"expression": "61 * * * *"}}],
            [notify()],
            "trigger 1 \\(cron\\)",
        ),
        ([{"kind": "cron", "config": {"expression": "* *"}}], [notify()], "5 crontab fields"),
        ([{"kind": "interval", "config": {"seconds": 0}}], [notify()], "between 1 and"),
        ([{"kind": "webhook", "config": {}}], [notify()], "needs a secret"),
        ([{"kind": "webhook", "config": {"secret": "short"}}], [notify()], "16 to 256"),
        ([{"kind": "moon_phase"}], [notify()], "unknown trigger kind"),
        (MANUAL, [{"kind": "teleport"}], "unknown action kind"),
        (MANUAL, [{"kind": "place_order", "config": {"retries": 1}}], "never retried"),
        (MANUAL, [notify(colour="red")], "does not take colour"),
        (MANUAL, [{"kind": "call_webhook", "config": {"url": "ftp://x"}}], "http"),
        ([{"kind": "price_cross", "config": {"symbol": "BTC/USDT"}}], [notify()], "level"),
        ([{"kind": "task_result", "config": {"task_id": "nope"}}], [notify()], "no task"),
        (MANUAL, [], "at least one action"),
    ]
    for triggers, actions, message in bad:
        with pytest.raises((ValidationError, NotFoundError), match=message):
            tasks.create(admin, name="bad", triggers=triggers, actions=actions)
    assert tasks.list() == []
    with pytest.raises(ValidationError, match="missed_runs"):
        tasks.create(admin, name="x", triggers=MANUAL, actions=[notify()], missed_runs="never")


def test_viewers_read_but_only_traders_change_or_run(station: Station) -> None:
    viewer = station.user("val", "viewer")
    tasks = station.services.tasks
    with pytest.raises(PermissionDeniedError, match="val \\(viewer\\) may not create tasks"):
        tasks.create(viewer, name="t", triggers=MANUAL, actions=[notify()])
    task = tasks.create(station.admin, name="t", triggers=MANUAL, actions=[notify()])
    assert [t.name for t in tasks.list()] == ["t"] and tasks.get("t") == task
    for act in (
        lambda: tasks.set_enabled(viewer, task.id, False),
        lambda: tasks.update(viewer, task.id, name="u"),
        lambda: tasks.delete(viewer, task.id),
    ):
        with pytest.raises(PermissionDeniedError):
            act()


async def test_run_now_records_every_action_outcome_logs_and_duration(
    station: Station, notifier: RecordingNotifier
) -> None:
    bot = station.bot()
    tasks = station.services.tasks
    task = tasks.create(
        station.admin,
        name="morning",
        triggers=[{"kind": "cron", "config": {"expression": "0 9 * * 1-5"}}],
        actions=[{"kind": "start_bot", "config": {"bot_id": bot.id}}, notify(body="{{run_id}}")],
    )
    first = await tasks.run_now(station.admin, task.id)
    assert first.status is RunStatus.SUCCEEDED and first.cause == "manual:admin"
    assert [(o.kind, o.status, o.attempts) for o in first.outcomes] == [
        (ActionKind.START_BOT, RunStatus.SUCCEEDED, 1),
        (ActionKind.NOTIFY, RunStatus.SUCCEEDED, 1),
    ]
    assert first.outcomes[0].detail == "started bot 'sma' (running)"
    assert station.services.bots.get(bot.id).status is BotStatus.RUNNING
    assert notifier.sent[0][:3] == ("task", "hello morning", str(first.id))
    assert first.duration is not None and first.summary == "2 of 2 actions done"
    assert any("start_bot: succeeded" in line for line in first.logs)
    second = await tasks.run_now(station.admin, "morning")  # by name; idempotent start
    assert second.outcomes[0].detail == "bot 'sma' was already running"
    assert tasks.runs(task.id) == [second, first]
    assert tasks.run(first.id or 0) == first


async def test_a_failed_action_ends_the_run_unless_it_may_continue(station: Station) -> None:
    tasks = station.services.tasks
    task = tasks.create(
        station.admin,
        name="broken",
        triggers=MANUAL,
        actions=[
            {"kind": "stop_bot", "config": {"bot_id": "no-such-bot"}},
            notify(),
        ],
    )
    run = await tasks.run_now(station.admin, task.id)
    assert run.status is RunStatus.FAILED
    assert run.error == "stop_bot failed: no bot with id 'no-such-bot'"
    assert [o.status for o in run.outcomes] == [RunStatus.FAILED, RunStatus.SKIPPED]
    tolerant = tasks.update(
        station.admin,
        task.id,
        actions=[
            {"kind": "stop_bot", "config": {"bot_id": "no-such-bot", "continue_on_error": True}},
            notify(),
        ],
    )
    run = await tasks.run_now(station.admin, tolerant.id)
    assert run.status is RunStatus.FAILED
    assert [o.status for o in run.outcomes] == [RunStatus.FAILED, RunStatus.SUCCEEDED]


async def test_only_safe_actions_are_retried_with_back_off(
    station: Station, notifier: RecordingNotifier
) -> None:
    notifier.failures, notifier.error = 2, TransientActionError
    bot = station.bot(control_mode="manual")
    tasks = station.services.tasks
    task = tasks.create(
        station.admin,
        name="retry",
        triggers=MANUAL,
        actions=[
            notify(),
            {
                "kind": "place_order",
                "config": {"bot_id": bot.id, "side": "buy", "quantity": "0.01"},
            },
        ],
    )
    run = await tasks.run_now(station.admin, task.id)
    assert [(o.status, o.attempts) for o in run.outcomes] == [
        (RunStatus.SUCCEEDED, 3),  # two transient failures, then sent
        (RunStatus.FAILED, 1),  # the bot does not run: an order is never tried twice
    ]
    assert "not running" in run.outcomes[1].detail
    assert sum("again in" in line for line in run.logs) == 2
    assert station.services.orders.list() == []


async def test_a_failure_not_worth_retrying_is_not_retried(
    station: Station, notifier: RecordingNotifier
) -> None:
    notifier.failures, notifier.error = 5, ValueError
    tasks = station.services.tasks
    task = tasks.create(station.admin, name="once", triggers=MANUAL, actions=[notify()])
    run = await tasks.run_now(station.admin, task.id)
    assert run.outcomes[0].attempts == 1 and run.status is RunStatus.FAILED
    assert run.outcomes[0].detail.startswith("internal error: ValueError")


async def test_chained_task_runs_on_success_and_a_loop_stops(station: Station) -> None:
    tasks, admin = station.services.tasks, station.admin
    await station.services.tasks.start()
    first = tasks.create(admin, name="first", triggers=MANUAL, actions=[notify()])
    second = tasks.create(
        admin,
        name="second",
        triggers=[{"kind": "task_result", "config": {"task_id": "first", "on": "success"}}],
        actions=[notify("after {{task}}")],
    )
    assert second.triggers[0].config["task_id"] == first.id  # a name is stored as the id
    run = await tasks.run_now(admin, first.id)
    await until(lambda: len(tasks.runs(second.id)) == 1 and tasks.runs(second.id)[0].status.ended)
    chained = tasks.runs(second.id)[0]
    assert chained.cause == f"chain:{run.id}" and chained.status is RunStatus.SUCCEEDED
    # first on second's end too: a loop, stopped after MAX_CHAIN_DEPTH chained runs
    tasks.update(
        admin,
        first.id,
        triggers=[*MANUAL, {"kind": "task_result", "config": {"task_id": "second", "on": "any"}}],
    )
    depths: list[int] = []
    station.services.events.subscribe(TaskRunChanged, lambda e: depths.append(e.depth))
    await tasks.run_now(admin, first.id)
    await until(
        lambda: any(r.status is RunStatus.SKIPPED for r in tasks.runs(limit=100)), what="the stop"
    )
    skipped = next(r for r in tasks.runs(limit=100) if r.status is RunStatus.SKIPPED)
    assert "chained runs in a row" in (skipped.summary or "")
    assert max(depths) == MAX_CHAIN_DEPTH


def test_a_task_cannot_chain_on_itself(station: Station) -> None:
    tasks = station.services.tasks
    task = tasks.create(station.admin, name="self", triggers=MANUAL, actions=[notify()])
    with pytest.raises(ValidationError, match="its own runs"):
        tasks.update(
            station.admin,
            task.id,
            triggers=[{"kind": "task_result", "config": {"task_id": task.id}}],
        )


def test_webhook_secret_lives_in_the_vault_and_goes_with_the_trigger(
    station: Station,
    shared_vault: SecretsVault,
) -> None:
    tasks = station.services.tasks
    task = tasks.create(station.admin, name="hook", triggers=WEBHOOK, actions=[notify()])
    hook = task.triggers[0]
    assert hook.kind is TriggerKind.WEBHOOK and hook.hook_id and "secret" not in hook.config
    assert shared_vault.get(webhook_secret_ref(hook.hook_id)) == SECRET
    kept = tasks.update(
        station.admin,
        task.id,
        triggers=[{"id": hook.id, "kind": "webhook", "config": {"dedup_seconds": 60}}],
    )
    assert (
        kept.triggers[0].hook_id == hook.hook_id and kept.triggers[0].config["dedup_seconds"] == 60
    )
    assert shared_vault.get(webhook_secret_ref(hook.hook_id)) == SECRET
    tasks.delete(station.admin, task.id)
    assert shared_vault.get(webhook_secret_ref(hook.hook_id)) is None
    with pytest.raises(NotFoundError):
        tasks.get(task.id)


async def test_without_the_automation_tasks_are_edited_but_do_not_run(
    tmp_path: Path,
    shared_vault: SecretsVault,
) -> None:
    from task_station.container import build_container
    from tests.automation.support import station_settings

    container = build_container(station_settings(tmp_path / "bare"), shared_vault)
    try:
        container.services.users.create("root", "pw-0123456789", "admin", actor=None)
        admin = container.services.auth.login("root", "pw-0123456789").principal
        tasks = container.services.tasks
        task = tasks.create(admin, name="idle", triggers=MANUAL, actions=[notify()])
        assert tasks.set_enabled(admin, task.id, False).enabled is False
        with pytest.raises(ConfigurationError, match="automation is not attached"):
            await tasks.run_now(admin, task.id)
    finally:
        await container.aclose()
