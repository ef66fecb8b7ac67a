"""Schedules on a real SQLite file across a restart of the station: cron with seconds
starts and stops a bot; runs missed while the station was down follow each task's
policy (skip, run once, run all within the grace window)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from task_station.domain.bots import BotStatus
from task_station.domain.tasks import RunStatus, TaskRun
from task_station.security.vault import SecretsVault
from tests.automation.support import (
    RecordingNotifier,
    Station,
    open_station,
    shared_vault_fixture,  # noqa: F401 - a fixture
    until,
)

SLOW = {"demo_pace_seconds": 0.01}  # a bot replays 3000 bars in 30 s: it is still running


def runs_since(station: Station, task_id: str, since: datetime) -> list[TaskRun]:
    return [r for r in station.services.tasks.runs(task_id) if r.started_at >= since]


def ended_with(station: Station, task_id: str, since: datetime, words: str) -> bool:
    return any(
        r.status is RunStatus.SUCCEEDED and words in r.outcomes[0].detail
        for r in runs_since(station, task_id, since)
    )


async def test_cron_starts_and_stops_a_bot_on_schedule_across_a_restart(
    tmp_path: Path, shared_vault: SecretsVault
) -> None:
    first = open_station(tmp_path, shared_vault, settings=SLOW)
    bot = first.bot()
    tasks = first.services.tasks
    on = tasks.create(
        first.admin,
        name="on at even seconds",
        triggers=[{"kind": "cron", "config": {"expression": "*/2 * * * * *"}}],
        actions=[{"kind": "start_bot", "config": {"bot_id": bot.id}}],
    )
    off = tasks.create(
        first.admin,
        name="off at odd seconds",
        triggers=[{"kind": "cron", "config": {"expression": "1-59/2 * * * * *"}}],
        actions=[{"kind": "stop_bot", "config": {"bot_id": bot.id}}],
    )
    began = datetime.now(UTC)
    try:
        await first.container.start()
        await until(lambda: ended_with(first, on.id, began, "started bot"), 5, "the start")
        await until(lambda: ended_with(first, off.id, began, "stopped bot"), 5, "the stop")
    finally:
        await first.container.aclose()
    assert first.services.bots.get(bot.id).status is BotStatus.STOPPED

    second = open_station(tmp_path, shared_vault, first=False, settings=SLOW)
    assert second.services.tasks.next_runs(on.id) == {}  # not started yet
    restarted = datetime.now(UTC)
    try:
        await second.container.start()
        upcoming = second.services.tasks.next_runs(on.id)
        assert list(upcoming) == [on.triggers[0].id]
        assert upcoming[on.triggers[0].id or 0] is not None
        health = (await second.services.health.ready()).component("scheduler")
        assert health.status.value == "ok" and health.detail.startswith("2 schedules; next at")
        await until(lambda: ended_with(second, on.id, restarted, "started bot"), 5, "a start")
        await until(lambda: ended_with(second, off.id, restarted, "stopped bot"), 5, "a stop")
    finally:
        await second.container.aclose()
    for run in runs_since(second, on.id, restarted):
        assert run.cause in ("schedule", "missed") and run.scheduled_for is not None


async def test_missed_runs_follow_each_tasks_policy_after_a_restart(
    tmp_path: Path, shared_vault: SecretsVault
) -> None:
    notifier = RecordingNotifier()
    first = open_station(tmp_path, shared_vault, notifier=notifier)
    every_second = [{"kind": "interval", "config": {"seconds": 1}}]
    ids = {}
    for policy, grace in (("skip", None), ("run_once", 60), ("run_all", 60), ("run_all", 1)):
        name = f"{policy} {grace}"
        ids[name] = first.services.tasks.create(
            first.admin,
            name=name,
            triggers=every_second,
            actions=[{"kind": "notify", "config": {"title": name}}],
            missed_runs=policy,
            grace_seconds=grace,
        ).id
    tasks = first.services.tasks
    try:
        await first.container.start()
        await until(lambda: all(tasks.runs(i) for i in ids.values()), 5, "a first run each")
    finally:
        await first.container.aclose()
    await asyncio.sleep(2.6)  # the station is down: two or three runs of each fall due

    second = open_station(tmp_path, shared_vault, first=False, notifier=notifier)
    restarted = datetime.now(UTC)
    tasks = second.services.tasks

    def missed(name: str) -> list[TaskRun]:
        return [r for r in runs_since(second, ids[name], restarted) if r.cause == "missed"]

    try:
        await second.container.start()
        await until(
            lambda: all(
                any(
                    r.cause == "schedule" and r.status.ended
                    for r in runs_since(second, i, restarted)
                )
                for i in ids.values()
            ),
            5,
            "a scheduled run after the restart",
        )
    finally:
        await second.container.aclose()

    skipped = missed("skip None")
    assert [r.status for r in skipped] == [RunStatus.SKIPPED]
    assert "missed while the station was down: skipped (policy skip)" in (skipped[0].summary or "")

    once = missed("run_once 60")
    ran_once = [r for r in once if r.status is RunStatus.SUCCEEDED]
    assert len(ran_once) == 1 and ran_once[0].scheduled_for is not None
    assert ran_once[0].scheduled_for < restarted
    coalesced = [r for r in once if r.status is RunStatus.SKIPPED]
    assert all("coalesced into the latest" in (r.summary or "") for r in coalesced)

    every = [r for r in missed("run_all 60") if r.status is RunStatus.SUCCEEDED]
    assert len(every) >= 2
    times = [r.scheduled_for for r in every]
    assert all(t is not None and t < restarted for t in times) and len(set(times)) == len(times)

    late = missed("run_all 1")
    assert any(
        r.status is RunStatus.SKIPPED and "beyond the 1 s grace window" in (r.summary or "")
        for r in late
    )
    for run in late:
        if run.status is RunStatus.SUCCEEDED:
            assert run.scheduled_for is not None
            assert (run.started_at - run.scheduled_for).total_seconds() < 2
