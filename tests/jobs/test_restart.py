"""A job queued before a SIGKILL of the station runs after the restart, exactly once;
so does the job that was running when it died (taken back once its lease ran out),
without repeating the effect its first attempt had completed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from keyrings.cryptfile.cryptfile import CryptFileKeyring

from task_station.container import build_container
from task_station.domain.clock import SystemClock
from task_station.domain.jobs import JobState
from task_station.engine.bus import EventBus
from task_station.jobs.queue import JobContext, JobQueue
from task_station.persistence import Database
from task_station.persistence.jobs import SqlJobStore
from tests.jobs.restart_child import CHEAP_KDF, EFFECTS, register, settings_for

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


def start_child(data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    """Start the child station; its stderr goes to ``child.log`` beside the data dir."""
    with (data_dir.parent / "child.log").open("w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.restart_child", str(data_dir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert child.stdout is not None
    line = child.stdout.readline()  # blocks until READY (or EOF if the child died)
    if not line.startswith("READY"):
        child.kill()
        child.wait()
        child.stdout.close()
        raise AssertionError(f"the station child did not get ready: {line!r}")
    _, hang_id, later_id = line.split()
    return child, hang_id, later_id


async def test_jobs_queued_and_running_at_sigkill_run_once_after_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CHEAP_KDF.items():
        monkeypatch.setattr(CryptFileKeyring, name, value)
    data_dir = tmp_path / "station"
    child, hang_id, later_id = await asyncio.to_thread(start_child, data_dir)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=TIMEOUT) == -signal.SIGKILL
    assert child.stdout is not None
    child.stdout.close()
    effects = data_dir / EFFECTS
    assert effects.read_text().split() == [hang_id]  # the later job had not run

    restarted = build_container(settings_for(data_dir))
    register(restarted, data_dir, hang=False)
    jobs = restarted.services.jobs
    before = jobs.get(later_id)
    assert (before.state, before.attempts) == (JobState.QUEUED, 0)
    await restarted.start()
    try:
        later = await jobs.wait(later_id, TIMEOUT)
        hung = await jobs.wait(hang_id, TIMEOUT)  # after its 1 s lease ran out
    finally:
        await restarted.aclose()
    assert (later.state, later.attempts, later.result) == (JobState.SUCCEEDED, 1, {"attempt": 1})
    assert (hung.state, hung.attempts, hung.result) == (JobState.SUCCEEDED, 2, {"attempt": 2})
    assert sorted(effects.read_text().split()) == sorted([hang_id, later_id])

    # a further start (the queue alone, on the same file) runs neither job again
    database = Database(settings_for(data_dir).resolved_database_url)
    queue = JobQueue(SqlJobStore.on(database), EventBus(), SystemClock(), poll_seconds=0.05)
    calls: list[str] = []

    async def again(ctx: JobContext) -> None:
        calls.append(ctx.job.id)

    queue.register("test.effect", again)
    queue.register("test.hang", again)
    queue.start()
    try:
        await asyncio.sleep(0.3)
    finally:
        await queue.stop()
        database.dispose()
    assert calls == []
    assert sorted(effects.read_text().split()) == sorted([hang_id, later_id])
